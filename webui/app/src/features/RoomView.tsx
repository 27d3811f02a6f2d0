import { useCallback, useEffect, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import type { Room } from '../api/types';
import { api, closeRoom, describeError, ensureUsers, joinRoom, leaveRoom, openRoom } from '../api/app';
import { displayName, memberCount, useShallow, useStore } from '../store';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { MembersPanel, ThreadPanel } from './Panels';
import { TypingLine } from './TypingLine';
import { UserSearchDialog } from './UserSearch';
import { dmPartner, useRoomTitle } from './rooms';
import { useMe } from './session';

export function RoomView() {
  const id = useParams().roomId ?? '';
  const [params, setParams] = useSearchParams();
  const thread = params.get('thread');
  const me = useMe();
  const joined = useStore((s) => s.rooms.byId[id]);
  const [preview, setPreview] = useState<Room | null>(null);
  const room = joined ?? preview ?? undefined;
  const title = useRoomTitle(room);
  // Rooms we are invited to are listed too; membership is what the room says.
  const member = !!room && !!me && room.members.includes(me);
  const [error, setError] = useState<string | null>(null);
  const [panel, setPanel] = useState<'members' | null>(null);
  const [inviting, setInviting] = useState(false);
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const navigate = useNavigate();

  useEffect(() => {
    setError(null);
    setPreview(null);
    setReplyTo(null);
    openRoom(id).catch((e) => setError(describeError(e)));
    return () => closeRoom(id);
  }, [id]);

  // A room we are not in (a link, the directory): show what we can and offer to join.
  useEffect(() => {
    if (joined) return;
    let live = true;
    api
      .room(id)
      .then((r) => live && setPreview(r))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [id, joined]);

  const senders = useStore(
    useShallow((s) => {
      const t = s.messages.rooms[id];
      if (!t) return [] as string[];
      const set = new Set<string>();
      for (const mid of t.main.slice(-200)) set.add(t.byId[mid].sender);
      return [...set].sort();
    }),
  );
  useEffect(() => {
    ensureUsers([...senders, ...(room?.members ?? [])]);
  }, [senders, room?.members]);

  const reply = useStore(
    useShallow((s) => {
      if (!replyTo) return null;
      const m = s.messages.rooms[id]?.byId[replyTo];
      return m ? { id: m.id, name: displayName(s.presence, m.sender), body: m.body } : null;
    }),
  );

  const openThread = useCallback(
    (root: string) => {
      setPanel(null);
      setParams({ thread: root });
    },
    [setParams],
  );
  const closeThread = () => setParams({});
  const partner = useStore((s) => dmPartner(room, s.session.user?.id));
  const partnerPresence = useStore((s) => (partner ? s.presence.presence[partner] : undefined));

  return (
    <section className="flex flex-1 min-h-0" aria-label={title || 'Room'}>
      <div className="flex flex-col flex-1 min-w-0 min-h-0">
        <header className="flex items-center gap-2 px-3 py-2 border-b border-base-300">
          <Link to="/" className="btn btn-ghost btn-sm md:hidden" aria-label="Back to rooms">
            ←
          </Link>
          <div className="min-w-0 flex-1">
            <h1 className="font-bold truncate">
              {room?.kind === 'dm' ? '' : '# '}
              {title || 'Loading…'}
            </h1>
            <p className="text-xs opacity-70 truncate">
              {room?.kind === 'dm'
                ? partnerPresence?.presence === 'online'
                  ? 'Online'
                  : 'Offline'
                : room?.topic ||
                  (room ? `${memberCount(room)} ${memberCount(room) === 1 ? 'member' : 'members'} · ${room.visibility}` : '')}
            </p>
          </div>
          {member && room?.kind !== 'dm' && (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => setInviting(true)}>
              Invite
            </button>
          )}
          {room && (
            <button
              type="button"
              className={`btn btn-ghost btn-sm ${panel === 'members' ? 'btn-active' : ''}`}
              aria-pressed={panel === 'members'}
              onClick={() => {
                if (thread) closeThread();
                setPanel(panel === 'members' ? null : 'members');
              }}
            >
              Members
            </button>
          )}
          {member && room?.kind !== 'dm' && (
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              onClick={async () => {
                if (!confirm(`Leave ${title}?`)) return;
                try {
                  await leaveRoom(id);
                  navigate('/');
                } catch (e) {
                  setError(describeError(e));
                }
              }}
            >
              Leave
            </button>
          )}
        </header>
        {error && (
          <div role="alert" className="alert alert-error rounded-none text-sm py-2 flex justify-between">
            <span>{error}</span>
            <button type="button" className="btn btn-xs" onClick={() => setError(null)}>
              Dismiss
            </button>
          </div>
        )}
        {room && !member ? (
          <div className="flex-1 flex items-center justify-center p-6">
            <div className="text-center">
              <p className="mb-3">You are not a member of this room yet.</p>
              <button
                type="button"
                className="btn btn-primary"
                onClick={() =>
                  joinRoom(id)
                    .then(() => {
                      setError(null);
                      return openRoom(id);
                    })
                    .catch((e) => setError(describeError(e)))
                }
              >
                Join room
              </button>
            </div>
          </div>
        ) : (
          <>
            <MessageList
              room={id}
              title={room?.kind === 'dm' ? title : `#${title}`}
              me={me}
              canRead={member}
              onReply={setReplyTo}
              onThread={openThread}
              onError={setError}
            />
            <TypingLine room={id} />
            <Composer room={id} reply={reply} onCancelReply={() => setReplyTo(null)} disabled={!member} />
          </>
        )}
      </div>
      {thread ? (
        <ThreadPanel room={id} root={thread} me={me} canWrite={member} onClose={closeThread} />
      ) : panel === 'members' && room ? (
        <MembersPanel room={id} members={room.members} count={memberCount(room)} onClose={() => setPanel(null)} />
      ) : null}
      {inviting && (
        <UserSearchDialog
          title={`Invite to ${title}`}
          action="Invite"
          exclude={room?.members}
          onClose={() => setInviting(false)}
          onPick={async (u) => {
            await api.invite(id, u.id);
            setInviting(false);
          }}
        />
      )}
    </section>
  );
}
