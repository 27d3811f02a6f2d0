import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import type { Receipt } from '../components/MessageItem';
import { loadOlder, markRead } from '../api/app';
import { EVENT_PREFIX, isEventItem, newestConfirmed, summarize, timelineItems, useShallow, useStore } from '../store';
import { MessageRow } from './MessageRow';
import { TimelineLine } from './TimelineLine';

const START_INDEX = 1_000_000_000;

interface ListContext {
  loaded: boolean;
  more: boolean;
  start: string;
}

function Header({ context }: { context?: ListContext }) {
  if (!context) return null;
  if (!context.loaded || context.more) {
    return (
      <div className="flex justify-center py-3">
        <span className="loading loading-spinner loading-sm" aria-label="Loading older messages" />
      </div>
    );
  }
  return <p className="text-center text-sm opacity-80 py-4">{context.start}</p>;
}

function NewMessagesLine() {
  return (
    <div className="divider divider-error text-xs font-semibold text-danger my-1 px-4" role="separator" aria-label="New messages" data-new-messages>
      New messages
    </div>
  );
}

/**
 * MessageList shows a room's timeline, virtualised: only the rows on screen
 * are in the DOM, so rooms with tens of thousands of messages stay smooth.
 * It lands on the first unread message (under a "New messages" line) or at
 * the bottom; scrolling to the top loads older history; new messages keep
 * the view at the bottom while it is there, and so does a change of its
 * height (a banner, the keyboard, a reply bar); the newest visible message
 * is marked read. Membership changes and renames show as quiet lines.
 */
export function MessageList({
  room,
  start,
  me,
  canRead,
  onReply,
  onThread,
  onOpenQuote,
  onError,
}: {
  room: string;
  /** what the top of a room's whole history says. */
  start: string;
  me?: string;
  canRead: boolean;
  onReply(id: string): void;
  onThread(id: string): void;
  onOpenQuote(id: string): void;
  onError(msg: string): void;
}) {
  const timeline = useStore((s) => s.messages.rooms[room]);
  const events = useStore((s) => s.events.rooms[room]);
  const marks = useStore((s) => s.receipts.rooms[room]);
  const view = useStore(
    useShallow((s) => ({
      ready: s.view.room === room && s.view.ready,
      unreadFrom: s.view.room === room ? s.view.unreadFrom : null,
      focus: s.view.room === room ? s.view.focus : null,
    })),
  );
  const items = useMemo(() => timelineItems(timeline, events), [timeline, events]);
  const ready = !!timeline?.loaded && view.ready;
  // Where the list is, as Virtuoso reports it. Until it does, a landing on
  // unread messages is not at the bottom (nothing is marked read), and one
  // without is. RoomView mounts one MessageList per room.
  const [reported, setReported] = useState<boolean | null>(null);
  const atBottom = reported ?? !view.unreadFrom;
  const bottom = useRef(atBottom);
  bottom.current = atBottom;
  const [selected, setSelected] = useState<string | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);
  const virtuoso = useRef<VirtuosoHandle>(null);
  const box = useRef<HTMLDivElement>(null);

  // Virtuoso keeps the scroll position on prepends when firstItemIndex drops
  // by the number of rows added above.
  const head = useRef<{ first: number; id?: string }>({ first: START_INDEX });
  const first = useMemo(() => {
    const h = head.current;
    if (h.id && items[0] !== h.id) {
      const idx = items.indexOf(h.id);
      if (idx > 0) h.first -= idx;
    }
    h.id = items[0];
    return h.first;
  }, [items]);

  const summary = useMemo(() => summarize(marks, timeline, me), [marks, timeline, me]);
  const lastMine = useMemo(() => {
    const ids = timeline?.main ?? [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const m = timeline?.byId[ids[i]];
      if (m && m.sender === me && !m.status) return m;
    }
    return undefined;
  }, [timeline, me]);
  const lastMineReceipt: Receipt | undefined = lastMine
    ? lastMine.ts <= summary.readTs
      ? 'read'
      : lastMine.ts <= summary.deliveredTs
        ? 'delivered'
        : 'sent'
    : undefined;

  const newestId = newestConfirmed(timeline)?.id;
  useEffect(() => {
    // Only what is on screen is read: not before the list shows (live
    // messages of a room not loaded yet are in the store already).
    if (!ready || !atBottom || !newestId || !canRead) return;
    const send = () => {
      if (document.visibilityState === 'visible') markRead(room, newestId);
    };
    send();
    document.addEventListener('visibilitychange', send);
    window.addEventListener('focus', send);
    return () => {
      document.removeEventListener('visibilitychange', send);
      window.removeEventListener('focus', send);
    };
  }, [ready, atBottom, newestId, room, canRead]);

  const onBottom = useCallback((b: boolean) => {
    bottom.current = b;
    setReported(b);
  }, []);

  // Jump to the bottom when the user sends, wherever they were.
  const lastId = items[items.length - 1];
  const lastIsMinePending = !!lastId && timeline?.byId[lastId]?.status === 'pending';
  useEffect(() => {
    if (lastIsMinePending) virtuoso.current?.scrollToIndex({ index: 'LAST', behavior: 'auto' });
  }, [lastId, lastIsMinePending]);

  // Stay at the bottom when the list's height changes while there: a
  // banner above it or a bar below it must not hide the newest message.
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    let h = el.clientHeight;
    const ro = new ResizeObserver(() => {
      if (el.clientHeight !== h && bottom.current) virtuoso.current?.scrollToIndex({ index: 'LAST', behavior: 'auto' });
      h = el.clientHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [view.ready]);

  // Bring a requested message into view (a clicked reply quote, an edit
  // started from the composer) and flash it when asked.
  const focusSeq = view.focus?.seq;
  const itemsNow = useRef(items);
  itemsNow.current = items;
  useEffect(() => {
    const f = view.focus;
    if (!f) return;
    if (items.indexOf(f.id) < 0) return;
    // Asked again a moment later: a list that has just mounted (a search
    // result opening its room) may still be taking its first position,
    // which would otherwise win.
    const go = () => {
      const idx = itemsNow.current.indexOf(f.id);
      if (idx >= 0) virtuoso.current?.scrollToIndex({ index: idx, align: 'center', behavior: 'auto' });
    };
    go();
    const again = [setTimeout(go, 150), setTimeout(go, 600)];
    const stop = () => again.forEach(clearTimeout);
    if (!f.highlight) return stop;
    setHighlight(f.id);
    const t = setTimeout(() => setHighlight(null), 3000);
    return () => {
      stop();
      clearTimeout(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- a new request, not every new item, moves the view
  }, [focusSeq]);

  const startReached = useCallback(() => {
    loadOlder(room).catch(() => undefined);
  }, [room]);

  const context = useMemo<ListContext>(
    () => ({ loaded: !!timeline?.loaded, more: !!timeline?.more, start }),
    [timeline?.loaded, timeline?.more, start],
  );

  const toggleSelected = useCallback((id: string) => setSelected((cur) => (cur === id ? null : id)), []);

  // Computed once per mount (Virtuoso reads it once): the first unread message, or the bottom.
  const initial = useMemo(() => {
    const at = view.unreadFrom ? items.indexOf(view.unreadFrom) : -1;
    return at >= 0 ? { index: Math.max(0, at), align: 'start' as const, offset: -48 } : Math.max(0, items.length - 1);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only the landing decided when the list first shows
  }, [view.ready]);

  const tsOf = (key: string | undefined): number | undefined => {
    if (!key) return undefined;
    if (isEventItem(key)) return events?.byId[key.slice(EVENT_PREFIX.length)]?.ts;
    return timeline?.byId[key]?.ts;
  };

  return (
    <div ref={box} role="log" aria-label="Messages" className="relative flex-1 min-h-0" data-room={room}>
      {!ready ? (
        <Header context={{ ...context, loaded: false }} />
      ) : (
        <Virtuoso
          key={room}
          ref={virtuoso}
          className="h-full"
          data={items}
          context={context}
          firstItemIndex={first}
          initialTopMostItemIndex={initial}
          alignToBottom
          followOutput={(b) => (b ? 'auto' : false)}
          atBottomStateChange={onBottom}
          atBottomThreshold={48}
          startReached={startReached}
          increaseViewportBy={{ top: 600, bottom: 200 }}
          computeItemKey={(_, key) => key}
          components={{ Header }}
          itemContent={(index, key) => {
            const prevKey = items[index - first - 1];
            if (isEventItem(key)) return <TimelineLine room={room} id={key.slice(EVENT_PREFIX.length)} prevTs={tsOf(prevKey)} />;
            return (
              <>
                {key === view.unreadFrom && <NewMessagesLine />}
                <MessageRow
                  room={room}
                  id={key}
                  prevId={prevKey && !isEventItem(prevKey) ? prevKey : undefined}
                  prevTs={tsOf(prevKey)}
                  me={me}
                  receipt={lastMine?.id === key ? lastMineReceipt : undefined}
                  readers={summary.readers[key]}
                  selected={selected === key}
                  highlighted={highlight === key}
                  onSelect={toggleSelected}
                  onReply={onReply}
                  onThread={onThread}
                  onOpenQuote={onOpenQuote}
                  onError={onError}
                />
              </>
            );
          }}
        />
      )}
      {ready && !atBottom && (
        <button
          type="button"
          className="btn btn-sm btn-primary shadow-md absolute bottom-3 right-4 z-10"
          aria-label="Jump to latest"
          onClick={() => virtuoso.current?.scrollToIndex({ index: 'LAST', behavior: 'auto' })}
        >
          Jump to latest <span aria-hidden="true">↓</span>
        </button>
      )}
    </div>
  );
}
