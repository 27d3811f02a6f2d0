import { memo, useEffect } from 'react';
import { ROLE_LABEL, ROLE_PLURAL } from '../api/powers';
import type { TimelineEvent } from '../api/types';
import { dayKey, formatDay, formatFull, formatTime } from '../components/format';
import { ensureUsers } from '../api/app';
import { displayName, useStore, type AppData } from '../store';

/** lineText says what a timeline event changed, in a short sentence. */
export function lineText(e: TimelineEvent, name: (id: string) => string): string {
  const who = e.sender ? name(e.sender) : 'Someone';
  const whom = e.user ? name(e.user) : 'someone';
  switch (e.type) {
    case 'room.create':
      return `${who} created the room`;
    case 'room.update': {
      const parts: string[] = [];
      if (e.name !== undefined) parts.push(`renamed the room to “${e.name}”`);
      if (e.topic !== undefined) parts.push(e.topic ? `changed the topic to “${e.topic}”` : 'removed the topic');
      if (e.avatar !== undefined) parts.push(e.avatar ? "changed the room's picture" : "removed the room's picture");
      return `${who} ${parts.join(' and ') || 'changed the room'}`;
    }
    case 'room.powers': {
      const post = e.powers?.post ?? 'member';
      return post === 'member'
        ? `${who} changed who may do what in the room`
        : `${who} changed who may do what: only ${ROLE_PLURAL[post]} may post`;
    }
    case 'room.pin':
      return `${who} ${e.on ? 'pinned' : 'unpinned'} a message`;
    case 'message.delete':
      return `${who} deleted a message by ${whom}`;
    case 'member':
      switch (e.membership) {
        case 'join':
          return `${whom} joined`;
        case 'leave':
          return `${whom} left`;
        case 'invite':
          return `${who} invited ${whom}`;
        case 'kick':
          return `${who} removed ${whom}${e.reason ? `: ${e.reason}` : ''}`;
        case 'ban':
          return `${who} banned ${whom}${e.reason ? `: ${e.reason}` : ''}`;
        case 'unban':
          return `${who} lifted the ban on ${whom}`;
        case 'role': {
          const role = e.role ?? 'member';
          if (e.sender === e.user) return `${whom} stepped down to ${ROLE_LABEL[role].toLowerCase()}`;
          return role === 'member' ? `${who} made ${whom} a member again` : `${who} made ${whom} ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;
        }
      }
  }
  return `${who} changed the room`;
}

const names = (s: AppData) => s.presence;

/** TimelineLine shows a timeline event as a quiet line between messages. */
export const TimelineLine = memo(function TimelineLine({ room, id, prevTs }: { room: string; id: string; prevTs?: number }) {
  const e = useStore((s) => s.events.rooms[room]?.byId[id]);
  const presence = useStore(names);
  useEffect(() => {
    if (e) ensureUsers([e.sender ?? '', e.user ?? '']);
  }, [e]);
  if (!e) return <div className="h-px" />;
  const dayLabel = prevTs === undefined || dayKey(prevTs) !== dayKey(e.ts) ? formatDay(e.ts) : undefined;
  return (
    <div className="pt-1">
      {dayLabel && (
        <div className="divider text-xs my-2" role="separator">
          {dayLabel}
        </div>
      )}
      <p className="px-4 py-0.5 text-center text-xs opacity-80" data-timeline-event={e.id} data-event-type={e.type} dir="auto">
        <span>{lineText(e, (u) => displayName(presence, u))}</span>
        <time className="ml-2 opacity-80" dateTime={new Date(e.ts).toISOString()} title={formatFull(e.ts)}>
          {formatTime(e.ts)}
        </time>
      </p>
    </div>
  );
});
