import { memo, useCallback } from 'react';
import { MessageItem, type Receipt } from '../components/MessageItem';
import { dayKey, formatDay } from '../components/format';
import { deleteMessage, describeError, discardSend, editMessage, retrySend, toggleReaction } from '../api/app';
import { displayName, useShallow, useStore } from '../store';

const GROUP_GAP_MS = 5 * 60_000;

export interface RowProps {
  room: string;
  id: string;
  prevId?: string;
  me?: string;
  receipt?: Receipt;
  readers?: string[];
  editing: boolean;
  inThread?: boolean;
  setEditing(id: string | null): void;
  onReply?(id: string): void;
  onThread?(id: string): void;
  onError(msg: string): void;
}

/** MessageRow connects one message of a timeline to the store and its actions. */
export const MessageRow = memo(function MessageRow(p: RowProps) {
  const m = useStore((s) => s.messages.rooms[p.room]?.byId[p.id]);
  const prev = useStore((s) => (p.prevId ? s.messages.rooms[p.room]?.byId[p.prevId] : undefined));
  const senderName = useStore((s) => (m ? displayName(s.presence, m.sender) : ''));
  const reply = useStore(
    useShallow((s) => {
      if (!m?.replyTo) return undefined;
      const r = s.messages.rooms[p.room]?.byId[m.replyTo];
      return r ? { name: displayName(s.presence, r.sender), body: r.body, deleted: r.deleted } : null;
    }),
  );
  const readers = useStore(
    useShallow((s) => (p.readers ?? []).filter((u) => u !== m?.sender).map((u) => displayName(s.presence, u))),
  );
  const presence = useStore((s) => s.presence);
  const nameOf = useCallback((id: string) => displayName(presence, id), [presence]);

  if (!m) return <div className="h-px" />;
  const grouped =
    !!prev && !prev.deleted && prev.sender === m.sender && dayKey(prev.ts) === dayKey(m.ts) && m.ts - prev.ts < GROUP_GAP_MS && !m.replyTo;
  const dayLabel = !prev || dayKey(prev.ts) !== dayKey(m.ts) ? formatDay(m.ts) : undefined;
  const mine = m.sender === p.me;
  const fail = (e: unknown) => p.onError(describeError(e));

  return (
    <MessageItem
      m={m}
      senderName={senderName}
      mine={mine}
      grouped={grouped && !dayLabel}
      dayLabel={p.inThread ? undefined : dayLabel}
      reply={reply}
      receipt={p.receipt}
      readers={readers}
      myId={p.me}
      nameOf={nameOf}
      editing={p.editing}
      inThread={p.inThread}
      onReply={p.onReply && (() => p.onReply!(m.id))}
      onThread={p.onThread && (() => p.onThread!(m.id))}
      onEdit={() => p.setEditing(m.id)}
      onCancelEdit={() => p.setEditing(null)}
      onSaveEdit={(body) => {
        p.setEditing(null);
        if (body !== m.body) editMessage(m, body).catch(fail);
      }}
      onDelete={() => {
        if (confirm('Delete this message for everyone?')) deleteMessage(m).catch(fail);
      }}
      onReact={(e) => toggleReaction(m, e).catch(fail)}
      onRetry={() => retrySend(m.id)}
      onDiscard={() => discardSend(m.id)}
    />
  );
});
