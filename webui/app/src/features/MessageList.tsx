import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import type { Receipt } from '../components/MessageItem';
import { loadOlder, markRead } from '../api/app';
import { newestConfirmed, summarize, useStore } from '../store';
import { MessageRow } from './MessageRow';

const EMPTY: string[] = [];
const START_INDEX = 1_000_000_000;

interface ListContext {
  loaded: boolean;
  more: boolean;
  title: string;
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
  return <p className="text-center text-sm opacity-60 py-4">This is the beginning of {context.title}.</p>;
}

/**
 * MessageList shows a room's timeline, virtualised: only the rows on screen
 * are in the DOM, so rooms with tens of thousands of messages stay smooth.
 * Scrolling to the top loads older history; new messages keep the view at
 * the bottom while it is there; the newest visible message is marked read.
 */
export function MessageList({
  room,
  title,
  me,
  canRead,
  onReply,
  onThread,
  onError,
}: {
  room: string;
  title: string;
  me?: string;
  canRead: boolean;
  onReply(id: string): void;
  onThread(id: string): void;
  onError(msg: string): void;
}) {
  const timeline = useStore((s) => s.messages.rooms[room]);
  const marks = useStore((s) => s.receipts.rooms[room]);
  const ids = timeline?.main ?? EMPTY;
  const [editing, setEditing] = useState<string | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  const virtuoso = useRef<VirtuosoHandle>(null);

  // Virtuoso keeps the scroll position on prepends when firstItemIndex drops
  // by the number of rows added above.
  const head = useRef<{ first: number; id?: string }>({ first: START_INDEX });
  const first = useMemo(() => {
    const h = head.current;
    if (h.id && ids[0] !== h.id) {
      const idx = ids.indexOf(h.id);
      if (idx > 0) h.first -= idx;
    }
    h.id = ids[0];
    return h.first;
  }, [ids]);

  const summary = useMemo(() => summarize(marks, timeline, me), [marks, timeline, me]);
  const lastMine = useMemo(() => {
    for (let i = ids.length - 1; i >= 0; i--) {
      const m = timeline?.byId[ids[i]];
      if (m && m.sender === me && !m.status) return m;
    }
    return undefined;
  }, [ids, timeline, me]);
  const lastMineReceipt: Receipt | undefined = lastMine
    ? lastMine.ts <= summary.readTs
      ? 'read'
      : lastMine.ts <= summary.deliveredTs
        ? 'delivered'
        : 'sent'
    : undefined;

  const newest = newestConfirmed(timeline);
  const newestId = newest?.id;
  useEffect(() => {
    if (!atBottom || !newestId || !canRead) return;
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
  }, [atBottom, newestId, room, canRead]);

  // Jump to the bottom when the user sends, wherever they were.
  const lastId = ids[ids.length - 1];
  const lastIsMinePending = !!lastId && timeline?.byId[lastId]?.status === 'pending';
  useEffect(() => {
    if (lastIsMinePending) virtuoso.current?.scrollToIndex({ index: 'LAST', behavior: 'auto' });
  }, [lastId, lastIsMinePending]);

  const startReached = useCallback(() => {
    loadOlder(room).catch(() => undefined);
  }, [room]);

  const context = useMemo<ListContext>(
    () => ({ loaded: !!timeline?.loaded, more: !!timeline?.more, title }),
    [timeline?.loaded, timeline?.more, title],
  );

  return (
    <div role="log" aria-label="Messages" className="flex-1 min-h-0" data-room={room}>
      {!timeline?.loaded ? (
        <Header context={context} />
      ) : (
      <Virtuoso
        key={room}
        ref={virtuoso}
        className="h-full"
        data={ids}
        context={context}
        firstItemIndex={first}
        initialTopMostItemIndex={Math.max(0, ids.length - 1)}
        alignToBottom
        followOutput={(bottom) => (bottom ? 'auto' : false)}
        atBottomStateChange={setAtBottom}
        atBottomThreshold={48}
        startReached={startReached}
        increaseViewportBy={{ top: 600, bottom: 200 }}
        computeItemKey={(_, id) => id}
        components={{ Header }}
        itemContent={(index, id) => (
          <MessageRow
            room={room}
            id={id}
            prevId={ids[index - first - 1]}
            me={me}
            receipt={lastMine?.id === id ? lastMineReceipt : undefined}
            readers={summary.readers[id]}
            editing={editing === id}
            setEditing={setEditing}
            onReply={onReply}
            onThread={onThread}
            onError={onError}
          />
        )}
      />
      )}
    </div>
  );
}
