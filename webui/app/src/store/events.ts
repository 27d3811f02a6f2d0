// The events slice: each room's timeline events (creation, joins, leaves,
// invites, renames, topic changes) that the timeline shows as quiet lines
// between messages. They come from GET /rooms/{id}/timeline, fetched for
// the span of history the UI holds.
import type { TimelineEvent } from '../api/types';
import type { Timeline } from './messages';

export interface RoomEvents {
  byId: Record<string, TimelineEvent>;
  /** ids, oldest first. */
  ids: string[];
}

export interface EventsState {
  rooms: Record<string, RoomEvents>;
}

export const initialEvents: EventsState = { rooms: {} };

const older = (a: TimelineEvent, b: TimelineEvent) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** mergeEvents adds events of one room (any order, duplicates allowed); it returns s when nothing is new. */
export function mergeEvents(s: EventsState, room: string, list: TimelineEvent[]): EventsState {
  const cur = s.rooms[room] ?? { byId: {}, ids: [] };
  const fresh = list.filter((e) => e.room === room && !cur.byId[e.id]);
  if (fresh.length === 0) return s;
  const byId = { ...cur.byId };
  for (const e of fresh) byId[e.id] = e;
  const ids = Object.keys(byId).sort((a, b) => older(byId[a], byId[b]));
  return { rooms: { ...s.rooms, [room]: { byId, ids } } };
}

/** newestEventTs is the time of the newest event held for a room (0 when none). */
export function newestEventTs(s: EventsState, room: string): number {
  const r = s.rooms[room];
  return r && r.ids.length ? r.byId[r.ids[r.ids.length - 1]].ts : 0;
}

/** EVENT_PREFIX marks an event's item key in a merged timeline. */
export const EVENT_PREFIX = 'ev:';

export const isEventItem = (key: string) => key.startsWith(EVENT_PREFIX);

/**
 * timelineItems merges a room's messages (outside threads) and its events
 * into one list of item keys, oldest first: message ids as they are, events
 * as "ev:<id>". Events older than the oldest loaded message are left out
 * while older history remains to be loaded, so a line never stands where
 * messages are missing; the user's own unconfirmed sends stay last.
 */
export function timelineItems(t: Timeline | undefined, ev: RoomEvents | undefined): string[] {
  const main = t?.main ?? [];
  if (!ev || ev.ids.length === 0 || !t) return main;
  let firstTs = -Infinity;
  if (t.more) {
    const first = main.find((id) => !t.byId[id]?.status);
    if (!first) return main;
    firstTs = t.byId[first].ts;
  }
  const out: string[] = [];
  let i = 0;
  for (const id of main) {
    const m = t.byId[id];
    // Events go before a message of the same time: a join precedes the
    // first words. Local sends sort after every event.
    while (i < ev.ids.length && (m.status || ev.byId[ev.ids[i]].ts <= m.ts)) {
      const e = ev.byId[ev.ids[i++]];
      if (e.ts >= firstTs) out.push(EVENT_PREFIX + e.id);
    }
    out.push(id);
  }
  for (; i < ev.ids.length; i++) {
    const e = ev.byId[ev.ids[i]];
    if (e.ts >= firstTs) out.push(EVENT_PREFIX + e.id);
  }
  return out;
}
