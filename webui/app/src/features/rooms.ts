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
