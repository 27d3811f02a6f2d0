// Message search on the client side: the query as the node reads it
// (words, "phrases", prefix*, -excluded), matching and highlighting, and
// the search of encrypted rooms over what this browser has decrypted,
// which the node can never search (docs/search.md).
import type { Room } from '../api/types';
import type { ChatMessage, MessagesState } from '../store/messages';

export interface Term {
  text: string;
  phrase?: boolean;
  prefix?: boolean;
  not?: boolean;
}

/** parseQuery splits a query the way the node does (node.ParseSearch). */
export function parseQuery(q: string): Term[] {
  const out: Term[] = [];
  const re = /(-?)(?:"([^"]*)"?|(\S+))/g;
  for (const m of q.matchAll(re)) {
    const not = m[1] === '-' && (m[2] !== undefined || (m[3] ?? '').length > 0);
    if (m[2] !== undefined) {
      const text = m[2].trim();
      if (text) out.push({ text, phrase: true, not });
      continue;
    }
    let text = m[3] ?? '';
    if (m[1] === '-' && !text) continue;
    let prefix = false;
    if (text.endsWith('*')) {
      text = text.replace(/\*+$/, '');
      prefix = true;
    }
    if (text) out.push({ text, prefix, not });
  }
  return out;
}

/** fold is how text is compared: accents dropped, lower case, full-width forms made plain. */
export function fold(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLocaleLowerCase();
}

/** Folded text with, for each of its characters, where it came from in the original. */
interface Folded {
  text: string;
  from: number[];
}

function foldWithMap(s: string): Folded {
  let text = '';
  const from: number[] = [];
  let i = 0;
  for (const ch of s) {
    const f = fold(ch);
    for (let k = 0; k < f.length; k++) from.push(i);
    text += f;
    i += ch.length;
  }
  from.push(s.length);
  return { text, from };
}

const wordChar = /[\p{L}\p{N}_]/u;

/** spans finds where term matches text (folded), as [start, end) in the folded text. */
function spans(f: Folded, t: Term): [number, number][] {
  const needle = fold(t.text);
  if (!needle) return [];
  const out: [number, number][] = [];
  // A CJK term matches anywhere (the node indexes such text as pairs of
  // characters); other words match at word boundaries.
  const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(needle);
  for (let at = f.text.indexOf(needle); at >= 0; at = f.text.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    const startOk = cjk || at === 0 || !wordChar.test(f.text[at - 1]);
    const endOk = cjk || t.prefix || end === f.text.length || !wordChar.test(f.text[end]);
    if (startOk && endOk) {
      let e = end;
      if (t.prefix) while (e < f.text.length && wordChar.test(f.text[e])) e++;
      out.push([at, e]);
    }
  }
  return out;
}

/** matches reports whether text holds every term that is not excluded and none that is. */
export function matches(text: string, terms: Term[]): boolean {
  if (!terms.some((t) => !t.not)) return false;
  const f = foldWithMap(text);
  return terms.every((t) => (spans(f, t).length > 0) !== !!t.not);
}

export interface Part {
  text: string;
  hit?: boolean;
}

/**
 * snippet cuts text to about max characters around its first hit and marks
 * the hits of the terms (not the excluded ones), for a results list.
 */
export function snippet(text: string, terms: Term[], max = 160): Part[] {
  const f = foldWithMap(text);
  const ranges: [number, number][] = [];
  for (const t of terms) {
    if (t.not) continue;
    for (const [a, b] of spans(f, t)) ranges.push([f.from[a], f.from[b]]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  let start = 0;
  let end = text.length;
  if (text.length > max) {
    const first = ranges[0]?.[0] ?? 0;
    start = Math.max(0, first - Math.floor(max / 3));
    end = Math.min(text.length, start + max);
  }
  const parts: Part[] = [];
  if (start > 0) parts.push({ text: '…' });
  let at = start;
  for (const [a0, b0] of ranges) {
    const a = Math.max(a0, at);
    const b = Math.min(b0, end);
    if (b <= a) continue;
    if (a > at) parts.push({ text: text.slice(at, a) });
    parts.push({ text: text.slice(a, b), hit: true });
    at = b;
  }
  if (at < end) parts.push({ text: text.slice(at, end) });
  if (end < text.length) parts.push({ text: '…' });
  return parts;
}

export interface Filters {
  room?: string;
  sender?: string;
  hasFile?: boolean;
  since?: number;
  until?: number;
}

/**
 * localSearch searches the messages of encrypted rooms that this browser
 * holds decrypted, newest first: the node has only their ciphertext.
 */
export function localSearch(
  messages: MessagesState,
  rooms: Record<string, Room>,
  q: string,
  filters: Filters,
  limit = 50,
): ChatMessage[] {
  const terms = parseQuery(q);
  const out: ChatMessage[] = [];
  for (const [id, t] of Object.entries(messages.rooms)) {
    if (!rooms[id]?.encrypted || (filters.room && filters.room !== id)) continue;
    for (const m of Object.values(t.byId)) {
      if (!m.encrypted || m.deleted || m.status || !m.e2ee?.ok) continue;
      if (filters.sender && m.sender !== filters.sender) continue;
      if (filters.hasFile && !(m.files?.length || m.attachments?.length)) continue;
      if ((filters.since && m.ts < filters.since) || (filters.until && m.ts >= filters.until)) continue;
      const text = [m.body, ...(m.files ?? []).map((f) => f.media.name ?? '')].join('\n');
      if (terms.length ? matches(text, terms) : !!(filters.sender || filters.hasFile || filters.since || filters.until)) {
        out.push(m);
      }
    }
  }
  out.sort((a, b) => b.ts - a.ts || (a.id < b.id ? 1 : -1));
  return out.slice(0, limit);
}
