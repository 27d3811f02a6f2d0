import { memo, useEffect, useMemo, useState } from 'react';
import { Link, NavLink, useNavigate } from 'react-router';
import { Avatar, PresenceDot } from '../components/Avatar';
import { attachmentSummary } from '../components/media';
import { RoomIcon } from '../components/RoomIcon';
import type { Room } from '../api/types';
import { api, ensureUsers, startDm } from '../api/app';
import { describeError } from '../api/errors';
import { displayName, sortedRooms, useStore } from '../store';
import { DirectoryDialog, NewRoomDialog } from './RoomDialogs';
import { UserSearchDialog } from './UserSearch';
import { dmPartner, previewText, useRoomTitle } from './rooms';
import { useSession } from './session';

type DialogKind = 'new' | 'browse' | 'dm' | null;

/** Section lists some of the user's rooms under a heading. */
function Section({ title, rooms, empty }: { title: string; rooms: Room[]; empty?: string }) {
  const id = `rooms-${title.toLowerCase().replace(/\W+/g, '-')}`;
  if (rooms.length === 0 && !empty) return null;
  return (
    <section aria-labelledby={id} className="mb-2">
      <h2 id={id} className="px-2 pt-2 pb-1 text-xs font-semibold uppercase tracking-wide opacity-80">
        {title}
      </h2>
      <ul className="flex flex-col gap-0.5">
        {rooms.length === 0 && <li className="px-2 py-1 opacity-80 text-sm">{empty}</li>}
        {rooms.map((r) => (
          <RoomEntry key={r.id} room={r} />
        ))}
      </ul>
    </section>
  );
}

export function Sidebar({ className, onSearch }: { className: string; onSearch?(): void }) {
  const byId = useStore((s) => s.rooms.byId);
  const loaded = useStore((s) => s.rooms.loaded);
  const me = useStore((s) => s.session.user?.id);
  const rooms = useMemo(() => sortedRooms(byId), [byId]);
  const sections = useMemo(() => {
    const invites: Room[] = [];
    const groups: Room[] = [];
    const dms: Room[] = [];
    for (const r of rooms) {
      if (me && !r.members.includes(me)) invites.push(r);
      else if (r.kind === 'dm') dms.push(r);
      else groups.push(r);
    }
    return { invites, groups, dms };
  }, [rooms, me]);
  const people = useMemo(() => rooms.flatMap((r) => [r.lastMessage?.sender ?? '', ...(r.kind === 'dm' ? r.members : [])]), [rooms]);
  useEffect(() => ensureUsers(people), [people]);
  const { user } = useSession();
  const [dialog, setDialog] = useState<DialogKind>(null);
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();

  return (
    <nav aria-label="Rooms" className={`${className} shrink-0 flex-col bg-base-200 border-r border-base-300 min-h-0`}>
      <div className="flex items-center justify-between px-4 py-3 border-b border-base-300">
        <Link to="/" className="text-lg font-bold flex items-center gap-2">
          <img src="/favicon.svg" alt="" className="w-6 h-6" /> Hearth
        </Link>
        <kbd className="kbd kbd-sm hidden md:inline-flex" title="Jump to a room or person">
          Ctrl K
        </kbd>
      </div>
      <div className="flex gap-1 p-2 flex-wrap">
        <button type="button" className="btn btn-primary btn-sm" onClick={() => setDialog('new')}>
          New room
        </button>
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => setDialog('browse')}>
          Browse
        </button>
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => setDialog('dm')}>
          New message
        </button>
        {onSearch && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={onSearch} title="Search messages (Ctrl Shift F)">
            Search
          </button>
        )}
      </div>
      {error && (
        <div role="alert" className="alert alert-error mx-2 text-sm py-1">
          {error}
        </div>
      )}
      <div className="p-2 pt-0 w-full flex-1 overflow-y-auto min-h-0">
        {!loaded ? (
          <p className="p-2">
            <span className="loading loading-dots loading-sm" aria-label="Loading rooms" />
          </p>
        ) : (
          <>
            <Section title="Invites" rooms={sections.invites} />
            <Section title="Rooms" rooms={sections.groups} empty="No rooms yet. Create or browse one." />
            <Section title="Direct messages" rooms={sections.dms} empty="No conversations yet." />
          </>
        )}
      </div>
      <div className="border-t border-base-300 p-2 flex items-center gap-2">
        {user && <Avatar id={user.id} name={user.displayName || user.username} size="sm" />}
        <div className="min-w-0 flex-1">
          <div className="text-sm font-semibold truncate" dir="auto">
            {user?.displayName || user?.username}
          </div>
          <div className="text-xs opacity-80 truncate">@{user?.username}</div>
        </div>
        <Link to="/settings" className="btn btn-ghost btn-xs">
          Settings
        </Link>
        <button type="button" className="btn btn-ghost btn-xs" onClick={() => api.logout().catch(() => undefined)}>
          Log out
        </button>
      </div>
      {dialog === 'new' && <NewRoomDialog onClose={() => setDialog(null)} onCreated={(r) => navigate(`/r/${encodeURIComponent(r.id)}`)} />}
      {dialog === 'browse' && <DirectoryDialog onClose={() => setDialog(null)} onOpen={(id) => navigate(`/r/${encodeURIComponent(id)}`)} />}
      {dialog === 'dm' && (
        <UserSearchDialog
          title="New direct message"
          action="Message"
          onClose={() => setDialog(null)}
          onPick={async (u) => {
            setDialog(null);
            try {
              const r = await startDm(u);
              navigate(`/r/${encodeURIComponent(r.id)}`);
            } catch (err) {
              setError(describeError(err, 'dm'));
            }
          }}
        />
      )}
    </nav>
  );
}

const RoomEntry = memo(function RoomEntry({ room }: { room: Room }) {
  const title = useRoomTitle(room);
  const partner = useStore((s) => dmPartner(room, s.session.user?.id));
  const presence = useStore((s) => (partner ? (s.presence.presence[partner]?.presence ?? 'offline') : undefined));
  const who = useStore((s) => {
    const m = room.lastMessage;
    if (!m || m.deleted) return '';
    return m.sender === s.session.user?.id ? 'You' : displayName(s.presence, m.sender);
  });
  const m = room.lastMessage;
  const text = !m
    ? (room.topic ?? '')
    : m.deleted
      ? 'Message deleted'
      : !m.body && m.attachments?.length
        ? attachmentSummary(m.attachments)
        : previewText(m.body);
  const unread = room.unread ?? 0;
  const mentions = room.mentions ?? 0;
  const invited = useStore((s) => !!s.session.user && !room.members.includes(s.session.user.id));
  // The row is a link to the room, but only the title is inside the <a>
  // (stretched over the row by its ::after), so the link's name can say
  // what the badges show without hiding the preview's text from it.
  return (
    <li
      className="relative flex items-center gap-2 px-2 py-2 rounded-lg hover:bg-base-300 has-[a.active]:bg-base-300 has-[a:focus-visible]:outline-2 has-[a:focus-visible]:outline-primary"
      data-room-id={room.id}
    >
      {room.kind === 'dm' && partner ? (
        <Avatar id={partner} name={title} size="sm" presence={presence} />
      ) : (
        <span className="w-7 h-7 rounded-md bg-base-300 inline-flex items-center justify-center shrink-0" aria-hidden="true">
          <RoomIcon visibility={room.visibility} encrypted={room.encrypted} />
        </span>
      )}
      <span className="min-w-0 flex-1">
        <NavLink
          to={`/r/${encodeURIComponent(room.id)}`}
          className={`block truncate outline-none after:absolute after:inset-0 after:content-[''] ${unread ? 'font-bold' : ''}`}
          aria-label={`${title}${invited ? ', invitation' : ''}${unread ? `, ${unread} unread` : ''}${
            mentions ? `, ${mentions} ${mentions === 1 ? 'mention' : 'mentions'}` : ''
          }`}
          aria-describedby={`preview-${room.id}`}
        >
          <bdi>{title}</bdi>
        </NavLink>
        <span id={`preview-${room.id}`} className="block truncate text-xs opacity-80">
          {who && <>{who}: </>}
          <bdi>{text}</bdi>
        </span>
      </span>
      {invited && (
        <span className="badge badge-secondary badge-sm" aria-hidden="true">
          Invited
        </span>
      )}
      {mentions > 0 && (
        <span className="badge badge-error badge-sm" aria-hidden="true" data-mentions={mentions} title={`${mentions} unread ${mentions === 1 ? 'mention' : 'mentions'}`}>
          @{mentions}
        </span>
      )}
      {unread > 0 && (
        <span className="badge badge-primary badge-sm" aria-hidden="true">
          {unread}
        </span>
      )}
      {room.kind === 'dm' && !partner && <PresenceDot />}
    </li>
  );
});
