// Room-level selectors shared by the sidebar and the room screen.
import type { Room } from '../api/types';
import { displayName, useStore } from '../store';

/** dmPartner is the other member of a DM room. */
export function dmPartner(room: Room | undefined, me: string | undefined): string | undefined {
  if (!room || room.kind !== 'dm') return undefined;
  return room.members.find((m) => m !== me) ?? room.members[0];
}

/** useRoomTitle names a room: the partner's name for a DM, the room's name otherwise. */
export function useRoomTitle(room: Room | undefined): string {
  return useStore((s) => {
    if (!room) return '';
    const partner = dmPartner(room, s.session.user?.id);
    if (partner) return displayName(s.presence, partner);
    return room.name || room.id;
  });
}

/**
 * previewText is a body as one plain line for the room list: Markdown's
 * marks (emphasis, code, quotes, list bullets) dropped, lines joined.
 */
export function previewText(body: string): string {
  return body
    .split('\n')
    .map((l) => l.replace(/^\s*(?:>\s?)+/, '').replace(/^\s*(?:[-+*]|\d+[.)])\s+/, '').replace(/^```.*$/, ''))
    .filter((l) => l.trim() !== '')
    .join(' ')
    .replace(/(\*\*|__|~~|`)/g, '')
    .replace(/(^|[\s(])[*_](\S[^*_]*?\S|\S)[*_](?=$|[\s).,!?:;])/g, '$1$2')
    .replace(/\[([^\]]+)\]\((?:https?:|mailto:)[^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}
