import { useState } from 'react';
import { api } from '../api/app';
import { describeError } from '../api/errors';
import type { NotifyLevel, Room } from '../api/types';
import { Menu, type MenuItem } from '../components/Menu';
import { notifyLevel, store, useStore } from '../store';

const LABELS: Record<NotifyLevel, string> = { all: 'All messages', mentions: 'Mentions only', mute: 'Mute' };
const ICONS: Record<NotifyLevel, string> = { all: '🔔', mentions: '@', mute: '🔕' };

/**
 * NotifyMenu is the room header's notification level: all messages,
 * mentions only, or mute (docs/notifications.md). The level is the user's
 * on their node, so it rules Web Push and this tab's desktop
 * notifications alike.
 */
export function NotifyMenu({ room, onError }: { room: Pick<Room, 'id' | 'kind'>; onError(msg: string): void }) {
  const level = useStore((s) => notifyLevel(s.notify, room));
  const chosen = useStore((s) => s.notify.rooms[room.id] !== undefined);
  const [busy, setBusy] = useState(false);
  const set = async (l: NotifyLevel | 'default') => {
    setBusy(true);
    try {
      const r = await api.setRoomNotify(room.id, l);
      store.get().setRoomNotify(room.id, r.default ? 'default' : r.level);
    } catch (e) {
      onError(describeError(e, 'notifications'));
    } finally {
      setBusy(false);
    }
  };
  const def = room.kind === 'dm' ? 'all' : 'mentions';
  const items: MenuItem[] = (['all', 'mentions', 'mute'] as NotifyLevel[]).map((l) => ({
    label: LABELS[l] + (l === def ? ' (default)' : ''),
    checked: level === l,
    onSelect: () => void set(chosen && l === def ? 'default' : l),
  }));
  return (
    <Menu label={`Notifications: ${LABELS[level]}`} items={items}>
      <span aria-hidden="true" className={busy ? 'opacity-50' : ''}>
        {ICONS[level]}
      </span>
    </Menu>
  );
}
