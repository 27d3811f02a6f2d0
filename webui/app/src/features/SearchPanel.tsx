import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import type { Message } from '../api/types';
import { api, ensureUsers } from '../api/app';
import { codeOf, describeError } from '../api/errors';
import { Modal } from '../components/Modal';
import { formatFull } from '../components/format';
import { displayName, sortedRooms, store, useStore } from '../store';
import { previewText } from './rooms';
import { localSearch, parseQuery, snippet } from './search';

interface Result {
  m: Message;
  /** local: found in this browser's decrypted messages of an encrypted room. */
  local?: boolean;
}

/**
 * SearchPanel (Ctrl/Cmd+Shift+F, or the sidebar's Search) searches messages:
 * the node's index over every room the user may read, and, for encrypted
 * rooms, the messages this browser has decrypted (the node holds only
 * their ciphertext). A result opens its message in its room, in context.
 */
export function SearchPanel({ onClose }: { onClose(): void }) {
  const [q, setQ] = useState('');
  const [room, setRoom] = useState('');
  const [sender, setSender] = useState('');
  const [hasFile, setHasFile] = useState(false);
  const [relevance, setRelevance] = useState(false);
  const [results, setResults] = useState<Result[]>([]);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [searched, setSearched] = useState('');
  const [error, setError] = useState<string | null>(null);
  const navigate = useNavigate();
  const listId = useId();
  const rooms = useStore((s) => s.rooms.byId);
  const presence = useStore((s) => s.presence);
  const me = useStore((s) => s.session.user?.id);
  const seq = useRef(0);

  const people = useMemo(
    () => Object.values(presence.users).sort((a, b) => (a.displayName || a.username).localeCompare(b.displayName || b.username)),
    [presence.users],
  );
  const terms = useMemo(() => parseQuery(searched), [searched]);

  const run = async (next: boolean) => {
    const text = q.trim();
    const filtered = !!(sender || hasFile);
    if (!text && !filtered) {
      setResults([]);
      setMore(false);
      setSearched('');
      return;
    }
    const mine = ++seq.current;
    setBusy(true);
    setError(null);
    const last = next ? results.filter((r) => !r.local).at(-1)?.m : undefined;
    const serverResults = results.filter((r) => !r.local);
    const encrypted = room && rooms[room]?.encrypted;
    try {
      const page = encrypted
        ? { results: [] as Message[], more: false }
        : await api.search({
            q: text,
            room: room || undefined,
            sender: sender || undefined,
            hasFile,
            relevance,
            before: !relevance ? last?.id : undefined,
            skip: relevance && next ? serverResults.length : undefined,
          });
      if (mine !== seq.current) return;
      const found: Result[] = page.results.map((m) => ({ m }));
      let all = next ? [...results, ...found] : found;
      if (!next) {
        const local = localSearch(store.get().messages, store.get().rooms.byId, text, {
          room: room || undefined,
          sender: sender || undefined,
          hasFile,
        }).map((m) => ({ m, local: true }));
        all = relevance ? [...all, ...local] : [...all, ...local].sort((a, b) => b.m.ts - a.m.ts);
      }
      // Senders' names and avatars, for those not met yet.
      ensureUsers([...new Set(all.map((r) => r.m.sender))]);
      setResults(all);
      setMore(page.more);
      setSearched(text);
    } catch (e) {
      // The node says what is wrong with a query in words a user can act
      // on ("a prefix needs at least 2 characters before the *"); search
      // is the only thing a node runs without on purpose (--search=false).
      if (mine === seq.current) {
        const code = codeOf(e);
        setError(
          code === 'invalid_argument' && e instanceof Error
            ? e.message
            : code === 'unavailable'
              ? 'Search is turned off on this node.'
              : describeError(e, 'load'),
        );
      }
    } finally {
      if (mine === seq.current) setBusy(false);
    }
  };

  // Search as the user types (after a pause) and when a filter changes.
  useEffect(() => {
    const t = setTimeout(() => void run(false), 250);
    return () => clearTimeout(t);
  }, [q, room, sender, hasFile, relevance]);

  const open = (m: Message) => {
    onClose();
    navigate(`/r/${encodeURIComponent(m.room)}?msg=${encodeURIComponent(m.id)}`);
  };

  const roomName = (id: string) => {
    const r = rooms[id];
    if (!r) return 'a public room';
    if (r.kind === 'dm') {
      const other = r.members.find((u) => u !== me);
      return other ? displayName(presence, other) : 'Direct message';
    }
    return r.name || r.id;
  };

  return (
    <Modal title="Search messages" onClose={onClose} wide>
      <form
        role="search"
        aria-label="Search messages"
        onSubmit={(e) => {
          e.preventDefault();
          void run(false);
        }}
        className="flex flex-col gap-2"
      >
        <input
          type="search"
          className="input input-bordered w-full"
          aria-label="Search text"
          aria-controls={listId}
          placeholder='Words, "a phrase", prefix*, -excluded'
          value={q}
          maxLength={256}
          onChange={(e) => setQ(e.target.value)}
          data-autofocus
        />
        <div className="flex flex-wrap gap-2 items-center text-sm">
          <select className="select select-bordered select-sm" aria-label="In room" value={room} onChange={(e) => setRoom(e.target.value)}>
            <option value="">All rooms</option>
            {sortedRooms(rooms).map((r) => (
              <option key={r.id} value={r.id}>
                {roomName(r.id)}
                {r.encrypted ? ' (encrypted)' : ''}
              </option>
            ))}
          </select>
          <select className="select select-bordered select-sm" aria-label="From" value={sender} onChange={(e) => setSender(e.target.value)}>
            <option value="">Anyone</option>
            {people.map((u) => (
              <option key={u.id} value={u.id}>
                {u.displayName || u.username}
              </option>
            ))}
          </select>
          <label className="label cursor-pointer gap-1">
            <input type="checkbox" className="checkbox checkbox-sm" checked={hasFile} onChange={(e) => setHasFile(e.target.checked)} />
            Has a file
          </label>
          <select
            className="select select-bordered select-sm"
            aria-label="Order"
            value={relevance ? 'relevance' : 'newest'}
            onChange={(e) => setRelevance(e.target.value === 'relevance')}
          >
            <option value="newest">Newest first</option>
            <option value="relevance">Most relevant first</option>
          </select>
        </div>
      </form>
      {error && (
        <p role="alert" className="alert alert-error text-sm py-1 mt-2">
          {error}
        </p>
      )}
      <div aria-live="polite" className="sr-only">
        {busy ? 'Searching' : searched ? `${results.length}${more ? ' or more' : ''} results` : ''}
      </div>
      <ul id={listId} aria-label="Search results" className="mt-2 flex flex-col gap-1 max-h-[60vh] overflow-y-auto">
        {searched && !busy && results.length === 0 && <li className="text-sm opacity-80 p-2">No messages match.</li>}
        {results.map(({ m, local }) => (
          <li key={m.id} data-result-id={m.id}>
            <button
              type="button"
              className="w-full text-left p-2 rounded-lg hover:bg-base-200 focus:bg-base-200 flex flex-col gap-0.5"
              onClick={() => open(m)}
            >
              <span className="flex flex-wrap gap-x-2 items-baseline text-xs opacity-80">
                <span className="font-semibold">{roomName(m.room)}</span>
                <span>{displayName(presence, m.sender)}</span>
                <time dateTime={new Date(m.ts).toISOString()}>{formatFull(m.ts)}</time>
                {m.editedAt ? <span>(edited)</span> : null}
                {local && <span className="badge badge-sm badge-ghost">encrypted, found in this browser</span>}
              </span>
              <span className="text-sm break-words" dir="auto">
                {snippet(previewText(m.body), terms).map((p, i) =>
                  p.hit ? (
                    <mark key={i} className="bg-warning/40 text-inherit rounded-sm">
                      {p.text}
                    </mark>
                  ) : (
                    <span key={i}>{p.text}</span>
                  ),
                )}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {more && (
        <button type="button" className="btn btn-ghost btn-sm mt-2" disabled={busy} onClick={() => void run(true)}>
          More results
        </button>
      )}
    </Modal>
  );
}
