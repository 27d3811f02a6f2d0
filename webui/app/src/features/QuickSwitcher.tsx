import { useEffect, useId, useMemo, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router';
import { Avatar } from '../components/Avatar';
import { Modal } from '../components/Modal';
import { RoomIcon } from '../components/RoomIcon';
import type { Room, User } from '../api/types';
import { api, startDm } from '../api/app';
import { describeError } from '../api/errors';
import { displayName, sortedRooms, useStore } from '../store';
import { dmPartner } from './rooms';

type Option = { kind: 'room'; room: Room; label: string; partner?: string } | { kind: 'person'; user: User; label: string };

const norm = (s: string) => s.toLocaleLowerCase().normalize('NFKD');

/**
 * QuickSwitcher (Ctrl/Cmd+K) jumps to any of the user's rooms or starts a
 * conversation with anyone: type, move with the arrow keys, Enter opens.
 */
export function QuickSwitcher({ onClose }: { onClose(): void }) {
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const [found, setFound] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const listId = useId();
  const navigate = useNavigate();
  const byId = useStore((s) => s.rooms.byId);
  const presence = useStore((s) => s.presence);
  const me = useStore((s) => s.session.user?.id);

  // People beyond the ones we know, from the node's user search.
  useEffect(() => {
    const term = q.trim();
    if (term.length < 2) {
      setFound([]);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api
        .searchUsers(term)
        .then((u) => live && setFound(u))
        .catch(() => undefined);
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q]);

  const options = useMemo<Option[]>(() => {
    const term = norm(q.trim());
    const rooms: Option[] = sortedRooms(byId).map((room) => {
      const partner = dmPartner(room, me);
      return { kind: 'room', room, partner, label: partner ? displayName(presence, partner) : room.name || room.id };
    });
    const dmWith = new Set(rooms.flatMap((o) => (o.kind === 'room' && o.partner ? [o.partner] : [])));
    const people = new Map<string, User>();
    for (const u of [...Object.values(presence.users), ...found]) {
      if (u.id !== me && !dmWith.has(u.id)) people.set(u.id, u);
    }
    const persons: Option[] = [...people.values()].map((user) => ({ kind: 'person', user, label: user.displayName || user.username }));
    const all = [...rooms, ...persons];
    if (!term) return rooms.slice(0, 12);
    return all
      .filter((o) => norm(o.label).includes(term) || (o.kind === 'person' && norm(o.user.username).includes(term)))
      .sort((a, b) => Number(norm(b.label).startsWith(term)) - Number(norm(a.label).startsWith(term)))
      .slice(0, 12);
  }, [q, byId, presence, found, me]);

  useEffect(() => setActive(0), [q]);

  const open = async (o: Option | undefined) => {
    if (!o) return;
    if (o.kind === 'room') {
      onClose();
      navigate(`/r/${encodeURIComponent(o.room.id)}`);
      return;
    }
    try {
      const r = await startDm(o.user);
      onClose();
      navigate(`/r/${encodeURIComponent(r.id)}`);
    } catch (err) {
      setError(describeError(err, 'dm'));
    }
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    const n = options.length;
    if (!n) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      open(options[Math.min(active, n - 1)]);
    }
  };

  return (
    <Modal title="Jump to" onClose={onClose}>
      <input
        className="input input-bordered w-full"
        role="combobox"
        aria-label="Room or person"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={options.length ? `${listId}-${active}` : undefined}
        placeholder="Type a room or a name"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        onKeyDown={onKey}
      />
      {error && (
        <p role="alert" className="alert alert-error text-sm py-1 mt-2">
          {error}
        </p>
      )}
      <ul id={listId} role="listbox" aria-label="Rooms and people" className="mt-2 flex flex-col gap-0.5 max-h-80 overflow-y-auto">
        {options.length === 0 && (
          <li role="presentation" className="text-sm opacity-80 p-2">
            Nothing matches.
          </li>
        )}
        {options.map((o, i) => (
          <li
            key={o.kind === 'room' ? o.room.id : o.user.id}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            className={`flex items-center gap-2 p-2 rounded-lg cursor-pointer ${i === active ? 'bg-base-300' : 'hover:bg-base-200'}`}
            onMouseEnter={() => setActive(i)}
            onClick={() => open(o)}
          >
            {o.kind === 'room' && !o.partner ? (
              <span className="w-7 h-7 rounded-md bg-base-300 inline-flex items-center justify-center" aria-hidden="true">
                <RoomIcon visibility={o.room.visibility} encrypted={o.room.encrypted} />
              </span>
            ) : (
              <Avatar id={o.kind === 'room' ? o.partner! : o.user.id} name={o.label} size="sm" />
            )}
            <span className="min-w-0 flex-1 truncate" dir="auto">
              {o.label}
            </span>
            <span className="text-xs opacity-80">{o.kind === 'room' ? (o.partner ? 'Direct message' : 'Room') : 'Person'}</span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
