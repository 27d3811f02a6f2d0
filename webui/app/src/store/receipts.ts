// The receipts slice: for each room and member, the newest message delivered
// to and read by them.
import type { Receipt } from '../api/types';
import type { Timeline } from './messages';

export interface ReceiptMark {
  read?: string;
  delivered?: string;
}

export interface ReceiptsState {
  rooms: Record<string, Record<string, ReceiptMark>>;
}

export const initialReceipts: ReceiptsState = { rooms: {} };

export function applyReceipt(
  s: ReceiptsState,
  room: string,
  user: string,
  upTo: string,
  kind: 'read' | 'delivered',
): ReceiptsState {
  const cur = s.rooms[room]?.[user] ?? {};
  const next: ReceiptMark = { ...cur, [kind]: upTo };
  // Reading implies delivery.
  if (kind === 'read') next.delivered = next.delivered ?? upTo;
  return { rooms: { ...s.rooms, [room]: { ...s.rooms[room], [user]: next } } };
}

export function applyReceipts(s: ReceiptsState, room: string, list: Receipt[]): ReceiptsState {
  let out = s;
  for (const r of list) out = applyReceipt(out, room, r.user, r.upTo, r.kind ?? 'read');
  return out;
}

export interface ReceiptSummary {
  /** newest ts of a message read by someone other than me. */
  readTs: number;
  /** newest ts of a message delivered to someone other than me. */
  deliveredTs: number;
  /** message id → users whose read marker sits on it. */
  readers: Record<string, string[]>;
}

/**
 * summarize resolves receipt markers against the loaded timeline. Markers
 * that point at messages not loaded are skipped: IDs are opaque, so only a
 * loaded message tells us where a marker stands.
 */
export function summarize(marks: Record<string, ReceiptMark> | undefined, t: Timeline | undefined, me?: string): ReceiptSummary {
  const out: ReceiptSummary = { readTs: 0, deliveredTs: 0, readers: {} };
  if (!marks || !t) return out;
  for (const [user, m] of Object.entries(marks)) {
    if (user === me) continue;
    const r = m.read ? t.byId[m.read] : undefined;
    const d = m.delivered ? t.byId[m.delivered] : undefined;
    if (r) {
      out.readTs = Math.max(out.readTs, r.ts);
      (out.readers[r.id] ??= []).push(user);
    }
    if (d) out.deliveredTs = Math.max(out.deliveredTs, d.ts);
    if (r) out.deliveredTs = Math.max(out.deliveredTs, r.ts);
  }
  return out;
}
