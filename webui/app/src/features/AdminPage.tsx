import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/app';
import { admin, type AdminRoom, type AdminUser, type AuditEntry, type Invite, type Policy, type Report } from '../api/admin';

/**
 * AdminPage is the node admin page (docs/operations.md): users, reports,
 * invite tokens, the federation policy, rooms and the audit log. The node
 * checks every call; a user who is not a node admin sees a sentence.
 */
export function AdminPage() {
  const [allowed, setAllowed] = useState<boolean | null>(null);
  const [tab, setTab] = useState<Tab>('users');
  useEffect(() => {
    admin
      .info()
      .then((i) => setAllowed(i.nodeAdmin))
      .catch(() => setAllowed(false));
  }, []);
  return (
    <div className="flex-1 overflow-y-auto">
      <div className="max-w-4xl mx-auto p-4 flex flex-col gap-4">
        <header className="flex items-center gap-2">
          <Link to="/settings" className="btn btn-ghost btn-sm" aria-label="Back to settings">
            ←
          </Link>
          <h1 className="text-2xl font-bold">Node administration</h1>
        </header>
        {allowed === null && <span className="loading loading-dots" aria-label="Loading" />}
        {allowed === false && <p role="alert">Only this node's admins can see this page.</p>}
        {allowed && (
          <>
            <div role="tablist" aria-label="Administration" className="tabs tabs-box flex-wrap">
              {TABS.map(([id, label]) => (
                <button
                  key={id}
                  type="button"
                  role="tab"
                  aria-selected={tab === id}
                  aria-controls={`admin-${id}`}
                  className={`tab ${tab === id ? 'tab-active' : ''}`}
                  onClick={() => setTab(id)}
                >
                  {label}
                </button>
              ))}
            </div>
            <div role="tabpanel" id={`admin-${tab}`} aria-label={TABS.find(([id]) => id === tab)?.[1]}>
              {tab === 'users' && <Users />}
              {tab === 'reports' && <Reports />}
              {tab === 'invites' && <Invites />}
              {tab === 'federation' && <Federation />}
              {tab === 'rooms' && <Rooms />}
              {tab === 'audit' && <Audit />}
            </div>
          </>
        )}
      </div>
    </div>
  );
}

/** AdminLink leads node admins to the admin page; others see nothing. */
export function AdminLink() {
  const [show, setShow] = useState(false);
  useEffect(() => {
    admin
      .info()
      .then((i) => setShow(i.nodeAdmin))
      .catch(() => undefined);
  }, []);
  if (!show) return null;
  return (
    <Link to="/admin" className="btn btn-ghost btn-sm">
      Node administration
    </Link>
  );
}

type Tab = 'users' | 'reports' | 'invites' | 'federation' | 'rooms' | 'audit';
const TABS: [Tab, string][] = [
  ['users', 'Users'],
  ['reports', 'Reports'],
  ['invites', 'Invite tokens'],
  ['federation', 'Federation'],
  ['rooms', 'Rooms'],
  ['audit', 'Audit log'],
];

const when = (ms?: number) => (ms ? new Date(ms).toLocaleString() : '—');

/** useLoad runs a loader when deps change, keeping its result, error and a reload function. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | null; error: string | null; reload(): void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load()
      .then((d) => live && (setData(d), setError(null)))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [n, ...deps]); // load changes with deps

  return { data, error, reload: useCallback(() => setN((x) => x + 1), []) };
}

/** Notice shows the outcome of the last action. */
function Notice({ msg }: { msg: { ok?: string; error?: string } }) {
  if (msg.error)
    return (
      <p role="alert" className="alert alert-error text-sm py-2">
        {msg.error}
      </p>
    );
  if (msg.ok)
    return (
      <p role="status" className="alert alert-success text-sm py-2 break-all">
        {msg.ok}
      </p>
    );
  return null;
}

/** useAction wraps admin actions: it reports their outcome and reloads. */
function useAction(reload: () => void) {
  const [msg, setMsg] = useState<{ ok?: string; error?: string }>({});
  const run = async (fn: () => Promise<string | void>) => {
    try {
      const ok = await fn();
      setMsg({ ok: ok || 'Done.' });
      reload();
    } catch (e) {
      setMsg({ error: describeError(e) });
    }
  };
  return { msg, run };
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card bg-base-100 border border-base-300" aria-label={title}>
      <div className="card-body gap-3">
        <h2 className="card-title">{title}</h2>
        {children}
      </div>
    </section>
  );
}

function Users() {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const { data, error, reload } = useLoad(() => admin.users(query), [query]);
  const { msg, run } = useAction(reload);
  const act = (u: AdminUser): ReactNode => (
    <div className="flex flex-wrap gap-1">
      {u.locked ? (
        <button type="button" className="btn btn-xs" onClick={() => run(() => admin.unlock(u.username).then(() => `Unlocked ${u.username}.`))}>
          Unlock
        </button>
      ) : (
        <button
          type="button"
          className="btn btn-xs btn-warning"
          onClick={() =>
            confirm(`Lock ${u.username}? Their sessions end at once and they cannot log in until unlocked.`) &&
            run(() => admin.lock(u.username).then(() => `Locked ${u.username}.`))
          }
        >
          Lock
        </button>
      )}
      <button
        type="button"
        className="btn btn-xs"
        onClick={() =>
          confirm(`Reset ${u.username}'s password? Their sessions end.`) &&
          run(() => admin.resetPassword(u.username).then((r) => `New password for ${u.username}: ${r.password}`))
        }
      >
        Reset password
      </button>
      <button
        type="button"
        className="btn btn-xs"
        onClick={() => run(() => admin.setAdmin(u.username, !u.admin).then(() => (u.admin ? `${u.username} is no longer an admin.` : `${u.username} is an admin.`)))}
      >
        {u.admin ? 'Remove admin' : 'Make admin'}
      </button>
      <button
        type="button"
        className="btn btn-xs btn-error"
        onClick={() =>
          confirm(`Delete ${u.username} for good? Their account, devices and messages go.`) &&
          run(() => admin.deleteUser(u.username).then((r) => `Deleted ${u.username}: ${r.messages} messages deleted, ${r.rooms} rooms left.`))
        }
      >
        Delete
      </button>
    </div>
  );
  return (
    <Section title="Users">
      <form
        className="flex gap-2"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          setQuery(q.trim());
        }}
      >
        <input className="input input-bordered input-sm flex-1" aria-label="Search users" value={q} onChange={(e) => setQ(e.target.value)} />
        <button type="submit" className="btn btn-sm">
          Search
        </button>
      </form>
      <Notice msg={msg} />
      {error && <p role="alert">{error}</p>}
      <div className="overflow-x-auto">
        <table className="table table-sm">
          <thead>
            <tr>
              <th>User</th>
              <th>State</th>
              <th>Joined</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {data?.users.map((u) => (
              <tr key={u.id} data-user={u.username}>
                <td>
                  <div className="font-semibold">{u.displayName}</div>
                  <div className="text-xs opacity-80">@{u.username}</div>
                </td>
                <td>
                  {u.deleted ? 'deleted' : u.locked ? 'locked' : 'active'}
                  {u.admin && <span className="badge badge-sm ml-1">admin</span>}
                </td>
                <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                <td>{!u.deleted && act(u)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

function Reports() {
  const [all, setAll] = useState(false);
  const { data, error, reload } = useLoad(() => admin.reports(all), [all]);
  const { msg, run } = useAction(reload);
  return (
    <Section title="Reports">
      <label className="label cursor-pointer justify-start gap-2">
        <input type="checkbox" className="checkbox checkbox-sm" checked={all} onChange={(e) => setAll(e.target.checked)} />
        <span className="label-text">Show resolved reports too</span>
      </label>
      <Notice msg={msg} />
      {error && <p role="alert">{error}</p>}
      {data && data.reports.length === 0 && <p>No reports to handle.</p>}
      <ul className="flex flex-col gap-2" aria-label="Reports">
        {data?.reports.map((r: Report) => (
          <li key={r.id} className="border border-base-300 rounded-box p-3 flex flex-col gap-1" data-report-id={r.id}>
            <div className="text-sm opacity-80">
              {when(r.ts)} · by {r.reporter}
              {r.room && <> · room {r.room}</>}
            </div>
            {r.user && <div>User: {r.user}</div>}
            {r.message && <div className="text-sm">Message {r.message}</div>}
            {r.body && <blockquote className="border-l-4 border-base-300 pl-2 whitespace-pre-wrap">{r.body}</blockquote>}
            <div>
              <span className="font-semibold">Reason:</span> {r.reason}
            </div>
            {r.resolved ? (
              <div className="text-sm">
                Resolved by {r.resolvedBy} {when(r.resolvedAt)}
                {r.note && <>: {r.note}</>}
              </div>
            ) : (
              <ResolveForm onResolve={(note) => run(() => admin.resolveReport(r.id, note).then(() => 'Report resolved.'))} />
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

/** ResolveForm resolves a report with an optional note. */
function ResolveForm({ onResolve }: { onResolve(note: string): void }) {
  const [note, setNote] = useState('');
  return (
    <form
      className="flex flex-wrap gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        onResolve(note.trim());
      }}
    >
      <input
        className="input input-bordered input-xs flex-1 min-w-40"
        aria-label="Note"
        placeholder="Note (optional)"
        maxLength={500}
        value={note}
        onChange={(e) => setNote(e.target.value)}
      />
      <button type="submit" className="btn btn-xs">
        Resolve
      </button>
    </form>
  );
}

function Invites() {
  const { data, error, reload } = useLoad(admin.invites);
  const { msg, run } = useAction(reload);
  const [uses, setUses] = useState('1');
  const [days, setDays] = useState('7');
  const [note, setNote] = useState('');
  const create = (e: FormEvent) => {
    e.preventDefault();
    run(async () => {
      const r = await admin.createInvite(Number(uses) || 0, (Number(days) || 0) * 86400, note.trim());
      const link = `${location.origin}/signup?token=${encodeURIComponent(r.token)}`;
      return `Invite token (shown once): ${r.token} — sign-up link: ${link}`;
    });
  };
  return (
    <Section title="Invite tokens">
      <form className="flex flex-wrap items-end gap-2" onSubmit={create}>
        <label className="form-control">
          <span className="label-text">Uses (0 for any number)</span>
          <input className="input input-bordered input-sm w-28" type="number" min={0} value={uses} onChange={(e) => setUses(e.target.value)} />
        </label>
        <label className="form-control">
          <span className="label-text">Expires in days (0 for never)</span>
          <input className="input input-bordered input-sm w-28" type="number" min={0} max={366} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <label className="form-control flex-1">
          <span className="label-text">Note</span>
          <input className="input input-bordered input-sm w-full" maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm btn-primary">
          Create invite token
        </button>
      </form>
      <Notice msg={msg} />
      {error && <p role="alert">{error}</p>}
      <table className="table table-sm">
        <thead>
          <tr>
            <th>ID</th>
            <th>Uses</th>
            <th>Expires</th>
            <th>State</th>
            <th>Note</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.map((t: Invite) => (
            <tr key={t.id}>
              <td>
                <code>{t.id}</code>
              </td>
              <td>
                {t.uses}/{t.usesAllowed || 'any'}
              </td>
              <td>{when(t.expiresAt)}</td>
              <td>{t.usable ? 'usable' : 'spent'}</td>
              <td>{t.note}</td>
              <td>
                <button type="button" className="btn btn-xs" onClick={() => run(() => admin.revokeInvite(t.id).then(() => 'Invite token revoked.'))}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Federation() {
  const { data, error, reload } = useLoad(admin.policy);
  const { msg, run } = useAction(reload);
  const [nodeId, setNodeId] = useState('');
  const [note, setNote] = useState('');
  const add = (action: 'block' | 'allow') =>
    run(async () => {
      await admin.setRule(nodeId.trim(), action, note.trim());
      setNodeId('');
      setNote('');
      return action === 'block' ? 'Node blocked: its connections are closed and its events refused.' : 'Node allowed.';
    });
  const p: Policy | null = data;
  return (
    <Section title="Federation">
      {p && (
        <fieldset className="flex flex-col gap-1">
          <legend className="font-semibold mb-1">Federate with</legend>
          <label className="label cursor-pointer justify-start gap-2">
            <input type="radio" className="radio radio-sm" name="mode" checked={p.mode === 'open'} onChange={() => run(() => admin.setMode('open').then(() => 'Federating with every node but the blocked ones.'))} />
            <span>Every node except blocked ones (open)</span>
          </label>
          <label className="label cursor-pointer justify-start gap-2">
            <input type="radio" className="radio radio-sm" name="mode" checked={p.mode === 'allowlist'} onChange={() => run(() => admin.setMode('allowlist').then(() => 'Federating only with allowed nodes.'))} />
            <span>Only allowed nodes (allow-list)</span>
          </label>
        </fieldset>
      )}
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          add('block');
        }}
      >
        <label className="form-control flex-1 min-w-64">
          <span className="label-text">Node ID</span>
          <input className="input input-bordered input-sm w-full font-mono" required value={nodeId} onChange={(e) => setNodeId(e.target.value)} />
        </label>
        <label className="form-control flex-1">
          <span className="label-text">Note</span>
          <input className="input input-bordered input-sm w-full" maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm btn-warning">
          Block node
        </button>
        <button type="button" className="btn btn-sm" onClick={() => add('allow')} disabled={!nodeId.trim()}>
          Allow node
        </button>
      </form>
      <Notice msg={msg} />
      {error && <p role="alert">{error}</p>}
      <table className="table table-sm">
        <thead>
          <tr>
            <th>Node</th>
            <th>Rule</th>
            <th>Since</th>
            <th>Note</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {p?.rules.map((r) => (
            <tr key={r.node}>
              <td>
                <code className="text-xs break-all">{r.node}</code>
              </td>
              <td>{r.action === 'block' ? 'blocked' : 'allowed'}</td>
              <td>{new Date(r.at).toLocaleString()}</td>
              <td>{r.note}</td>
              <td>
                <button type="button" className="btn btn-xs" onClick={() => run(() => admin.clearRule(r.node).then(() => 'Rule removed.'))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Rooms() {
  const { data, error, reload } = useLoad(admin.rooms);
  const { msg, run } = useAction(reload);
  return (
    <Section title="Rooms">
      <Notice msg={msg} />
      {error && <p role="alert">{error}</p>}
      <div className="overflow-x-auto">
        <table className="table table-sm">
          <thead>
            <tr>
              <th>Room</th>
              <th>Kind</th>
              <th>Members (here)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data?.map((r: AdminRoom) => (
              <tr key={r.id}>
                <td>
                  <div className="font-semibold">{r.name || (r.kind === 'dm' ? 'Direct messages' : r.id)}</div>
                  <code className="text-xs break-all">{r.id}</code>
                </td>
                <td>
                  {r.kind}, {r.visibility}
                  {r.encrypted && ', encrypted'}
                  {r.closed && <span className="badge badge-sm ml-1">closed here</span>}
                </td>
                <td>
                  {r.memberCount} ({r.localMembers})
                </td>
                <td>
                  {r.closed ? (
                    <button type="button" className="btn btn-xs" onClick={() => run(() => admin.reopenRoom(r.id).then(() => 'Room reopened.'))}>
                      Reopen
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="btn btn-xs btn-warning"
                      onClick={() =>
                        confirm('Close this room on this node? Its local members leave it and this node stops serving it.') &&
                        run(() => admin.closeRoom(r.id, '').then((x) => `Room closed: ${x.removed} local members removed.`))
                      }
                    >
                      Close here
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

function Audit() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback((before: number) => {
    admin
      .audit(before)
      .then((r) => {
        setEntries((old) => (before ? [...old, ...r.entries] : r.entries));
        setMore(r.more);
      })
      .catch((e) => setError(describeError(e)));
  }, []);
  useEffect(() => load(0), [load]);
  return (
    <Section title="Audit log">
      {error && <p role="alert">{error}</p>}
      <table className="table table-sm">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Target</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td className="whitespace-nowrap">{when(e.ts)}</td>
              <td className="break-all">{e.actor}</td>
              <td>{e.action}</td>
              <td className="break-all">{e.target}</td>
              <td>{e.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more && (
        <button type="button" className="btn btn-sm" onClick={() => load(entries[entries.length - 1]?.id ?? 0)}>
          Load older
        </button>
      )}
    </Section>
  );
}
