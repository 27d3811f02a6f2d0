import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import type { Room } from '../api/types';
import { api, closeRoom, declineInvite, ensureUsers, joinRoom, leaveRoom, openRoom, revealMessage } from '../api/app';
import { codeOf, describeError } from '../api/errors';
import { holds, levelOf, ROLE_PLURAL } from '../api/powers';
import { Menu, type MenuItem } from '../components/Menu';
import { RoomIcon } from '../components/RoomIcon';
import { displayName, memberCount, store, useShallow, useStore } from '../store';
import { Composer } from './Composer';
import { useDialogs } from './dialogs';
import { MessageList } from './MessageList';
import { NotifyMenu } from './NotifyMenu';
import { MembersPanel, ThreadPanel } from './Panels';
import { CopyLinkDialog, RoomSettingsDialog } from './RoomDialogs';
import { roomLink } from './roomLink';
import { TypingLine } from './TypingLine';
import { UserSearchDialog } from './UserSearch';
import { dmPartner, useRoomTitle } from './rooms';
import { useMe } from './session';

type Lookup = 'ok' | 'loading' | 'not_found' | 'forbidden' | 'error';

/** canEditRoom: who holds the power to rename the room or change its topic (admins by default). */
function canEditRoom(room: Room, me: string | undefined): boolean {
  return room.kind !== 'dm' && (holds(room, me, 'name') || holds(room, me, 'topic'));
}

export function RoomView() {
  const id = useParams().roomId ?? '';
  const [params, setParams] = useSearchParams();
  const thread = params.get('thread');
  const me = useMe();
  const known = useStore((s) => s.rooms.byId[id]);
  const [preview, setPreview] = useState<Room | null>(null);
  const [lookup, setLookup] = useState<Lookup>('ok');
  const room = known ?? preview ?? undefined;
  const title = useRoomTitle(room);
  // Rooms we are invited to are listed too; membership is what the room says.
  const member = !!room && !!me && room.members.includes(me);
  const invited = !!room && !!me && !member && (room.invited ?? []).includes(me);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [panel, setPanel] = useState<'members' | null>(null);
  const [dialog, setDialog] = useState<'invite' | 'settings' | { link: string } | null>(null);
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const navigate = useNavigate();
  const dialogs = useDialogs();
  // Files dropped anywhere on the room go to its composer.
  const attach = useRef<((files: File[]) => void) | null>(null);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  const drop = {
    onDragEnter: (e: DragEvent) => {
      if (!hasFiles(e) || !attach.current) return;
      e.preventDefault();
      dragDepth.current++;
      setDragging(true);
    },
    onDragOver: (e: DragEvent) => {
      if (!hasFiles(e) || !attach.current) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    },
    onDragLeave: (e: DragEvent) => {
      if (!hasFiles(e)) return;
      dragDepth.current = Math.max(0, dragDepth.current - 1);
      if (dragDepth.current === 0) setDragging(false);
    },
    onDrop: (e: DragEvent) => {
      dragDepth.current = 0;
      setDragging(false);
      if (!attach.current || !e.dataTransfer?.files?.length) return;
      e.preventDefault();
      attach.current(Array.from(e.dataTransfer.files));
    },
  };

  useEffect(() => {
    setError(null);
    setNotice(null);
    setPreview(null);
    setReplyTo(null);
    setPanel(null);
    setDialog(null);
    return () => closeRoom(id);
  }, [id]);

  // Load the room's history once we know it is ours to read.
  useEffect(() => {
    openRoom(id, { canRead: member }).catch((e) => setError(describeError(e, 'openRoom')));
  }, [id, member]);

  // A room we are not in (a link, the directory): find out what it is.
  useEffect(() => {
    if (known) {
      setLookup('ok');
      return;
    }
    let live = true;
    setLookup('loading');
    api
      .room(id)
      .then((r) => {
        if (!live) return;
        setPreview(r);
        setLookup('ok');
      })
      .catch((e) => {
        if (!live) return;
        const code = codeOf(e);
        setLookup(code === 'not_found' ? 'not_found' : code === 'forbidden' ? 'forbidden' : 'error');
        if (code !== 'not_found' && code !== 'forbidden') setError(describeError(e, 'openRoom'));
      });
    return () => {
      live = false;
    };
  }, [id, known]);

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
    ensureUsers([...senders, ...(room?.members ?? []), room?.createdBy ?? '']);
  }, [senders, room?.members, room?.createdBy]);

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
  const inviter = useStore((s) => (room ? displayName(s.presence, room.createdBy) : ''));

  // A search result opens its room at the message (?msg=ID): once the
  // room's history is in, page back to the message and highlight it.
  const target = params.get('msg');
  useEffect(() => {
    if (!target || !member) return;
    let live = true;
    openRoom(id)
      .then(() => (live ? revealMessage(id, target) : null))
      .then((r) => {
        if (!live || !r) return;
        if (r === 'missing') setError('That message is no longer available.');
        else if (r !== 'shown') openThread(r.thread);
        else setParams({}, { replace: true });
      })
      .catch((e) => live && setError(describeError(e, 'load')));
    return () => {
      live = false;
    };
  }, [id, target, member, openThread, setParams]);

  const openQuote = useCallback(
    (target: string) => {
      revealMessage(id, target)
        .then((r) => {
          if (r === 'missing') setError('That message is no longer available.');
          else if (r !== 'shown') openThread(r.thread);
        })
        .catch((e) => setError(describeError(e, 'load')));
    },
    [id, openThread],
  );

  const editLast = useCallback(() => {
    const st = store.get();
    const t = st.messages.rooms[id];
    if (!t || !me) return false;
    for (let i = t.main.length - 1; i >= 0; i--) {
      const m = t.byId[t.main[i]];
      if (m.sender === me && !m.status && !m.deleted) {
        st.setEditing(m.id);
        st.focusMessage(id, m.id, false);
        return true;
      }
    }
    return false;
  }, [id, me]);

  if (lookup === 'not_found' || lookup === 'forbidden') {
    return (
      <section className="flex flex-1 items-center justify-center p-6" aria-labelledby="room-missing">
        <div className="text-center max-w-sm">
          <h1 id="room-missing" className="text-xl font-bold mb-2">
            {lookup === 'not_found' ? 'Room not found' : 'This room is private'}
          </h1>
          <p className="mb-4 opacity-90">{describeCodeFor(lookup)}</p>
          <Link to="/" className="btn btn-primary">
            Back to your rooms
          </Link>
        </div>
      </section>
    );
  }

  const leave = async () => {
    const ok = await dialogs.confirm({
      title: `Leave ${title}?`,
      body:
        room?.visibility === 'private'
          ? 'It is private: you will need a new invitation to come back.'
          : 'You can join it again from the room directory.',
      confirm: 'Leave',
      danger: true,
    });
    if (!ok) return;
    try {
      await leaveRoom(id);
      navigate('/');
    } catch (e) {
      setError(describeError(e, 'leaveRoom'));
    }
  };
  const copyLink = async () => {
    const link = roomLink(id, location.origin);
    try {
      await navigator.clipboard.writeText(link);
      setNotice('Link copied.');
    } catch {
      setDialog({ link });
    }
  };
  const menu: MenuItem[] = [];
  if (room && canEditRoom(room, me)) menu.push({ label: 'Room settings', onSelect: () => setDialog('settings') });
  if (room && room.kind !== 'dm') menu.push({ label: 'Copy link', onSelect: copyLink });
  if (member && room?.kind !== 'dm') menu.push({ label: 'Leave room', onSelect: leave, danger: true });

  const count = room ? memberCount(room) : 0;
  return (
    <section className="flex flex-1 min-h-0" aria-label={title || 'Room'}>
      <div className="relative flex flex-col flex-1 min-w-0 min-h-0" {...drop} data-dropzone>
        {dragging && (
          <div
            className="absolute inset-0 z-30 flex items-center justify-center bg-base-100/80 border-4 border-dashed border-primary pointer-events-none"
            role="status"
          >
            <p className="text-lg font-semibold">Drop files to attach them</p>
          </div>
        )}
        <header className="flex items-center gap-1 px-3 py-2 border-b border-base-300">
          <Link to="/" className="btn btn-ghost btn-sm md:hidden" aria-label="Back to rooms">
            ←
          </Link>
          <div className="min-w-0 flex-1">
            <h1 className="font-bold truncate flex items-center gap-1.5">
              {room && room.kind !== 'dm' && <RoomIcon visibility={room.visibility} encrypted={room.encrypted} className="opacity-70" />}
              <span className="truncate" dir="auto">
                {title || (lookup === 'loading' ? 'Loading…' : '')}
              </span>
            </h1>
            <p className="text-xs opacity-80 truncate" dir="auto">
              {room?.kind === 'dm'
                ? partnerPresence?.presence === 'online'
                  ? 'Online'
                  : 'Offline'
                : room?.topic || (room ? `${count} ${count === 1 ? 'member' : 'members'} · ${room.visibility}` : '')}
            </p>
          </div>
          {member && room?.kind !== 'dm' && (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => setDialog('invite')}>
              Invite
            </button>
          )}
          {room && (member || room.visibility === 'public') && (
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
          {member && room && <NotifyMenu room={room} onError={setError} />}
          {menu.length > 0 && (
            <Menu label="Room menu" items={menu}>
              <span aria-hidden="true">⋯</span>
            </Menu>
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
        {notice && (
          <div role="status" className="alert alert-success rounded-none text-sm py-1 flex justify-between">
            <span>{notice}</span>
            <button type="button" className="btn btn-xs btn-ghost" onClick={() => setNotice(null)}>
              OK
            </button>
          </div>
        )}
        {!room ? (
          <div className="flex-1 flex items-center justify-center" role="status">
            {lookup === 'loading' && <span className="loading loading-spinner" aria-label="Loading the room" />}
          </div>
        ) : !member ? (
          <div className="flex-1 flex items-center justify-center p-6">
            <div className="text-center max-w-sm">
              {invited ? (
                <p className="mb-3" dir="auto">
                  You are invited to join <b>{title}</b>
                  {room.createdBy !== me ? ` (a room of ${inviter})` : ''}.
                </p>
              ) : (
                <p className="mb-3">You are not a member of this room yet.</p>
              )}
              <div className="flex gap-2 justify-center">
                <button
                  type="button"
                  className="btn btn-primary"
                  onClick={() =>
                    joinRoom(id)
                      .then(() => setError(null))
                      .catch((e) => setError(describeError(e, 'joinRoom')))
                  }
                >
                  Join room
                </button>
                {invited && (
                  <button
                    type="button"
                    className="btn btn-ghost"
                    onClick={() =>
                      declineInvite(id)
                        .then(() => navigate('/'))
                        .catch((e) => setError(describeError(e, 'leaveRoom')))
                    }
                  >
                    Decline
                  </button>
                )}
              </div>
            </div>
          </div>
        ) : (
          <>
            <MessageList
              key={`list-${id}`}
              room={id}
              start={
                room.kind === 'dm' ? `This is the beginning of your conversation with ${title}.` : `This is the beginning of ${title}.`
              }
              me={me}
              canRead={member}
              onReply={setReplyTo}
              onThread={openThread}
              onOpenQuote={openQuote}
              onError={setError}
            />
            <TypingLine room={id} />
            {holds(room, me, 'post') ? (
              <Composer
                key={`composer-${id}`}
                room={id}
                reply={reply}
                onCancelReply={() => setReplyTo(null)}
                onEditLast={editLast}
                filesRef={member ? attach : undefined}
              />
            ) : (
              <p className="p-3 border-t border-base-300 text-sm text-center opacity-80" data-posting-role={levelOf(room, 'post')}>
                Only {ROLE_PLURAL[levelOf(room, 'post')]} may post in this room.
              </p>
            )}
          </>
        )}
      </div>
      {thread && member ? (
        <ThreadPanel room={id} root={thread} me={me} canWrite={member} onClose={closeThread} />
      ) : panel === 'members' && room ? (
        <MembersPanel room={id} members={room.members} count={memberCount(room)} onClose={() => setPanel(null)} />
      ) : null}
      {dialog === 'invite' && (
        <UserSearchDialog
          title={`Invite to ${title}`}
          action="Invite"
          errorAction="invite"
          exclude={room?.members}
          onClose={() => setDialog(null)}
          onPick={async (u) => {
            await api.invite(id, u.id);
            setDialog(null);
            setNotice(`${u.displayName || u.username} is invited.`);
          }}
        />
      )}
      {dialog === 'settings' && room && <RoomSettingsDialog room={room} onClose={() => setDialog(null)} />}
      {dialog && typeof dialog === 'object' && <CopyLinkDialog link={dialog.link} onClose={() => setDialog(null)} />}
    </section>
  );
}

function describeCodeFor(lookup: 'not_found' | 'forbidden'): string {
  return lookup === 'not_found'
    ? 'There is no room at this address, or it was removed. Check the link, or find rooms in the directory.'
    : 'This room is private. Ask a member to invite you.';
}
