import { useEffect, useState } from 'react';
import { Avatar } from '../components/Avatar';
import { Modal } from '../components/Modal';
import { formatAgo } from '../components/format';
import { describeError, ensureUsers, startDm } from '../api/app';
import { displayName, useShallow, useStore } from '../store';
import { NodeName } from './people';

/** ProfileCard shows a person: name, user ID, home node, presence, and a way to message them. */
export function ProfileCard({ user, onClose, onOpenRoom }: { user: string; onClose(): void; onOpenRoom(id: string): void }) {
  useEffect(() => ensureUsers([user]), [user]);
  const p = useStore(
    useShallow((s) => ({
      name: displayName(s.presence, user),
      username: s.presence.users[user]?.username ?? user.split('@')[0],
      node: s.presence.users[user]?.node ?? user.slice(user.indexOf('@') + 1),
      presence: s.presence.presence[user]?.presence ?? s.presence.users[user]?.presence ?? 'offline',
      lastSeen: s.presence.presence[user]?.lastSeen ?? s.presence.users[user]?.lastSeen,
      me: s.session.user?.id,
    })),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={p.name} onClose={onClose}>
      <div className="flex items-center gap-3" data-profile={user}>
        <Avatar id={user} name={p.name} presence={p.presence} />
        <div className="min-w-0">
          <p className="font-semibold truncate" dir="auto">
            {p.name}
          </p>
          <p className="text-sm opacity-80 truncate">@{p.username}</p>
        </div>
      </div>
      <dl className="mt-3 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
        <dt className="opacity-80">Status</dt>
        <dd data-presence={p.presence}>
          {p.presence === 'online' ? 'Online' : p.lastSeen ? `Offline, last seen ${formatAgo(p.lastSeen)}` : 'Offline'}
        </dd>
        <dt className="opacity-80">Home node</dt>
        <dd className="min-w-0">
          <NodeName node={p.node} full />
        </dd>
        <dt className="opacity-80">User ID</dt>
        <dd className="min-w-0">
          <code className="break-all text-xs">{user}</code>
        </dd>
      </dl>
      {error && (
        <p role="alert" className="alert alert-error text-sm py-1 mt-3">
          {error}
        </p>
      )}
      <div className="modal-action">
        {user !== p.me && (
          <button
            type="button"
            className="btn btn-primary"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                const r = await startDm({ id: user, username: p.username, displayName: p.name, node: p.node });
                onOpenRoom(r.id);
              } catch (err) {
                setError(describeError(err, 'dm'));
                setBusy(false);
              }
            }}
          >
            Message
          </button>
        )}
      </div>
    </Modal>
  );
}
