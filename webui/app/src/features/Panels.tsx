import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { Avatar } from '../components/Avatar';
import { Menu, type MenuItem } from '../components/Menu';
import { moderation, roleOf, ROLE_LABEL } from '../api/powers';
import { formatAgo } from '../components/format';
import { api, loadThread } from '../api/app';
import { describeError } from '../api/errors';
import { displayName, useStore } from '../store';
import { Composer } from './Composer';
import { useDialogs } from './dialogs';
import { MessageRow } from './MessageRow';
import { NodeName } from './people';

function SidePanel({ title, onClose, children }: { title: string; onClose(): void; children: ReactNode }) {
  return (
    <aside
      aria-label={title}
      className="fixed inset-0 z-20 bg-base-100 flex flex-col md:static md:z-auto md:w-80 md:border-l md:border-base-300 min-h-0"
    >
      <div className="flex items-center justify-between px-3 py-2 border-b border-base-300">
        <h2 className="font-semibold">{title}</h2>
        <button type="button" className="btn btn-ghost btn-sm btn-circle" aria-label={`Close ${title.toLowerCase()}`} onClick={onClose}>
          ✕
        </button>
      </div>
      {children}
    </aside>
  );
}

/** MEMBERS_PAGE is how many members the panel loads at a time. */
export const MEMBERS_PAGE = 100;

/**
 * MembersPanel lists a room's members. A small room's members all come with
 * the room (and member frames keep them current); a large room's come a page
 * at a time from the members endpoint, and listing them is what subscribes
 * this user to their presence.
 */
export function MembersPanel({ room, members, count, onClose }: { room: string; members: string[]; count: number; onClose(): void }) {
  const [error, setError] = useState<string | null>(null);
  const { openProfile, confirm } = useDialogs();
  const info = useStore((s) => s.rooms.byId[room]);
  const me = useStore((s) => s.session.user?.id);
  const [paged, setPaged] = useState<string[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const load = (after?: string) => {
    setLoading(true);
    api
      .members(room, { after, limit: MEMBERS_PAGE })
      .then((r) => {
        useStore.getState().addUsers(r.members);
        setPaged((p) => [...(after ? p : []), ...r.members.map((u) => u.id)]);
        setMore(r.more);
      })
      .catch((e) => setError(describeError(e, 'load')))
      .finally(() => setLoading(false));
  };
  useEffect(() => {
    load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [room]);
  const people = useStore((s) => s.presence);
  const list = useMemo(
    () =>
      // When the room lists all its members, that list is current (member
      // frames keep it so) and a page loaded earlier may hold someone who
      // has left, been removed or banned since.
      (members.length >= count ? members : [...new Set([...members, ...paged])])
        .map((id) => {
          const p = people.presence[id];
          const u = people.users[id];
          return {
            id,
            name: displayName(people, id),
            node: u?.node ?? id.slice(id.indexOf('@') + 1),
            presence: p?.presence ?? 'offline',
            lastSeen: p?.lastSeen,
          };
        })
        .sort((a, b) => (a.presence === b.presence ? a.name.localeCompare(b.name) : a.presence === 'online' ? -1 : 1)),
    [members, paged, people, count],
  );
  /** actions lists what this user may do to a member (docs/api.md: kick, ban, roles). */
  const actions = (id: string, name: string): MenuItem[] => {
    if (!info) return [];
    const may = moderation(info, me, id);
    const run = (p: Promise<unknown>) => {
      setError(null);
      p.catch((e) => setError(describeError(e, 'moderate')));
    };
    const items: MenuItem[] = may.roles.map((r) => ({
      label: r === 'member' ? 'Make member' : `Make ${r}`,
      onSelect: async () => {
        if (r === 'owner' && !(await confirm({ title: `Make ${name} owner?`, body: `${name} will own the room and you will be an admin.`, confirm: 'Make owner' }))) return;
        run(api.setRole(room, id, r));
      },
    }));
    if (may.kick)
      items.push({
        label: 'Remove from room',
        danger: true,
        onSelect: async () => {
          if (await confirm({ title: `Remove ${name}?`, body: `${name} leaves the room and may come back.`, confirm: 'Remove', danger: true }))
            run(api.kick(room, id));
        },
      });
    if (may.ban)
      items.push({
        label: 'Ban',
        danger: true,
        onSelect: async () => {
          if (await confirm({ title: `Ban ${name}?`, body: `${name} leaves the room and cannot come back or be invited.`, confirm: 'Ban', danger: true }))
            run(api.ban(room, id));
        },
      });
    return items;
  };
  return (
    <SidePanel title="Members" onClose={onClose}>
      {error && (
        <p role="alert" className="text-danger text-sm p-2">
          {error}
        </p>
      )}
      <ul className="flex-1 overflow-y-auto p-2 flex flex-col gap-1">
        {list.map((u) => {
          const role = info ? roleOf(info, u.id) : 'member';
          const items = actions(u.id, u.name);
          return (
            <li key={u.id} data-member={u.id} data-presence={u.presence} data-role={role} className="flex items-center gap-1">
              <button
                type="button"
                className="flex w-full items-center gap-2 p-1 rounded-lg text-left hover:bg-base-200"
                aria-haspopup="dialog"
                onClick={() => openProfile(u.id)}
              >
                <Avatar id={u.id} name={u.name} size="sm" presence={u.presence} />
                <span className="min-w-0 flex-1">
                  <span className="block truncate" dir="auto">
                    {u.name}
                    {role !== 'member' && <span className="badge badge-sm badge-outline ml-1">{ROLE_LABEL[role]}</span>}
                  </span>
                  <span className="block truncate text-xs opacity-80">
                    {u.presence === 'online' ? 'Online' : u.lastSeen ? `Last seen ${formatAgo(u.lastSeen)}` : 'Offline'} · <NodeName node={u.node} />
                  </span>
                </span>
              </button>
              {items.length > 0 && (
                <Menu label={`Moderate ${u.name}`} items={items}>
                  ⋯
                </Menu>
              )}
            </li>
          );
        })}
      </ul>
      {list.length < count && (
        <div className="p-2 border-t border-base-300 flex items-center justify-between text-sm">
          <span className="opacity-80">
            {list.length} of {count} shown
          </span>
          {more && (
            <button type="button" className="btn btn-sm" disabled={loading} onClick={() => load(paged[paged.length - 1])}>
              Load more members
            </button>
          )}
        </div>
      )}
    </SidePanel>
  );
}

const EMPTY: string[] = [];

export function ThreadPanel({
  room,
  root,
  me,
  canWrite,
  onClose,
}: {
  room: string;
  root: string;
  me?: string;
  canWrite: boolean;
  onClose(): void;
}) {
  const ids = useStore((s) => s.messages.rooms[room]?.threads[root] ?? EMPTY);
  const hasRoot = useStore((s) => !!s.messages.rooms[room]?.byId[root]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadThread(room, root).catch((e) => setError(describeError(e, 'load')));
  }, [room, root]);
  return (
    <SidePanel title="Thread" onClose={onClose}>
      <div className="flex-1 overflow-y-auto min-h-0" data-thread-root={root}>
        {hasRoot ? (
          <div className="border-b border-base-300 pb-2">
            <MessageRow room={room} id={root} me={me} inThread onError={setError} />
          </div>
        ) : (
          <p className="p-3 text-sm opacity-80">The first message of this thread is further back in history.</p>
        )}
        {error && (
          <p role="alert" className="text-danger text-sm p-2">
            {error}
          </p>
        )}
        {ids.map((id, i) => (
          <MessageRow
            key={id}
            room={room}
            id={id}
            prevId={i > 0 ? ids[i - 1] : undefined}
            me={me}
            inThread
            onError={setError}
          />
        ))}
      </div>
      <Composer room={room} thread={root} disabled={!canWrite} label="Reply in thread" action="Reply" />
    </SidePanel>
  );
}
