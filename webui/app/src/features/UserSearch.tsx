import { useEffect, useState } from 'react';
import { Avatar } from '../components/Avatar';
import { Modal } from '../components/Modal';
import type { User } from '../api/types';
import { api } from '../api/app';
import { describeError, type Action } from '../api/errors';
import { useMe } from './session';

/** UserSearchDialog finds users (local and known remote) and hands one to onPick. */
export function UserSearchDialog({
  title,
  action,
  onClose,
  onPick,
  exclude = [],
  errorAction = 'dm',
}: {
  title: string;
  action: string;
  onClose(): void;
  onPick(u: User): void | Promise<void>;
  exclude?: string[];
  /** what picking does, for error messages. */
  errorAction?: Action;
}) {
  const [q, setQ] = useState('');
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const me = useMe();

  useEffect(() => {
    const term = q.trim();
    if (!term) {
      setUsers([]);
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api
        .searchUsers(term)
        .then((u) => live && (setUsers(u), setError(null)))
        .catch((e) => live && setError(describeError(e, 'searchUsers')));
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q]);

  const shown = users.filter((u) => u.id !== me && !exclude.includes(u.id));
  return (
    <Modal title={title} onClose={onClose}>
      <label className="form-control w-full">
        <span className="label-text mb-1 block">Search users</span>
        <input className="input input-bordered w-full" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or user ID" />
      </label>
      {error && (
        <div role="alert" className="alert alert-error text-sm py-1 mt-2">
          {error}
        </div>
      )}
      <ul className="mt-3 flex flex-col gap-1 max-h-72 overflow-y-auto">
        {q.trim() && shown.length === 0 && <li className="text-sm opacity-80">No users found.</li>}
        {shown.map((u) => (
          <li key={u.id} className="flex items-center gap-2 p-1">
            <Avatar id={u.id} name={u.displayName || u.username} size="sm" presence={u.presence} />
            <span className="min-w-0 flex-1">
              <span className="block truncate" dir="auto">
                {u.displayName || u.username}
              </span>
              <span className="block truncate text-xs opacity-80">{u.id}</span>
            </span>
            <button
              type="button"
              className="btn btn-sm btn-primary"
              disabled={busy}
              aria-label={`${action} ${u.displayName || u.username}`}
              onClick={async () => {
                setBusy(true);
                try {
                  await onPick(u);
                } catch (err) {
                  setError(describeError(err, errorAction));
                } finally {
                  setBusy(false);
                }
              }}
            >
              {action}
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
