import { memo, useCallback, useEffect } from 'react';
import { MessageItem, type Receipt } from '../components/MessageItem';
import { dayKey, formatDay } from '../components/format';
import { holds, rank, roleOf } from '../api/powers';
import { deleteMessage, discardSend, editMessage, ensureRef, retrySend, toggleReaction } from '../api/app';
import { describeCode, describeError } from '../api/errors';
import { displayName, findMessage, useShallow, useStore } from '../store';
import { useDialogs } from './dialogs';

const GROUP_GAP_MS = 5 * 60_000;

export interface RowProps {
  room: string;
  id: string;
  /** the item before it in the list: a message id, or an event's item key. */
  prevId?: string;
  /** the time of the item before it (a message or an event), for day separators. */
  prevTs?: number;
  me?: string;
  receipt?: Receipt;
  readers?: string[];
  inThread?: boolean;
  selected?: boolean;
  highlighted?: boolean;
  onSelect?(id: string): void;
  onReply?(id: string): void;
  onThread?(id: string): void;
  onOpenQuote?(id: string): void;
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
      const r = findMessage(s.messages.rooms[p.room], m.replyTo);
      return r ? { name: displayName(s.presence, r.sender), body: r.body, deleted: r.deleted } : null;
    }),
  );
  const readers = useStore(
    useShallow((s) => (p.readers ?? []).filter((u) => u !== m?.sender).map((u) => displayName(s.presence, u))),
  );
  const editing = useStore((s) => s.view.editing === p.id);
  const setEditing = useStore((s) => s.setEditing);
  const presence = useStore((s) => s.presence);
  const nameOf = useCallback((id: string) => displayName(presence, id), [presence]);
  const dialogs = useDialogs();
  const canRemove = useStore((s) => {
    const r = s.rooms.byId[p.room];
    return !!r && !!m && holds(r, p.me, 'delete') && rank(roleOf(r, m.sender)) < rank(roleOf(r, p.me));
  });
  const replyTo = m?.replyTo;
  const missing = reply === null;
  useEffect(() => {
    if (replyTo && missing) ensureRef(p.room, replyTo);
  }, [p.room, replyTo, missing]);

  if (!m) return <div className="h-px" />;
  const grouped =
    !!prev && !prev.deleted && prev.sender === m.sender && dayKey(prev.ts) === dayKey(m.ts) && m.ts - prev.ts < GROUP_GAP_MS && !m.replyTo;
  const prevTs = p.prevTs ?? prev?.ts;
  const dayLabel = !p.inThread && (prevTs === undefined || dayKey(prevTs) !== dayKey(m.ts)) ? formatDay(m.ts) : undefined;
  const mine = m.sender === p.me;
  const fail = (action: Parameters<typeof describeError>[1]) => (e: unknown) => p.onError(describeError(e, action));
  const react = (emoji: string) => toggleReaction(m, emoji).catch(fail('react'));

  return (
    <MessageItem
      m={m}
      senderName={senderName}
      mine={mine}
      canRemove={canRemove}
      grouped={grouped && !dayLabel}
      dayLabel={dayLabel}
      reply={reply}
      receipt={p.receipt}
      readers={readers}
      myId={p.me}
      nameOf={nameOf}
      editing={editing}
      inThread={p.inThread}
      selected={p.selected}
      highlighted={p.highlighted}
      errorText={m.status === 'failed' && m.error ? describeCode(m.error, 'send') : undefined}
      onSelect={p.onSelect && (() => p.onSelect!(m.id))}
      onReply={p.onReply && (() => p.onReply!(m.id))}
      onThread={p.onThread && (() => p.onThread!(m.id))}
      onOpenQuote={p.onOpenQuote && m.replyTo ? () => p.onOpenQuote!(m.replyTo!) : undefined}
      onOpenProfile={dialogs.openProfile}
      onEdit={() => setEditing(m.id)}
      onCancelEdit={() => setEditing(null)}
      onSaveEdit={(body) => {
        setEditing(null);
        if (body !== m.body) editMessage(m, body).catch(fail('edit'));
      }}
      onDelete={async () => {
        const ok = await dialogs.confirm({
          title: mine ? 'Delete this message?' : `Delete this message by ${senderName}?`,
          body: 'It will be removed for everyone in the room. This cannot be undone.',
          confirm: 'Delete',
          danger: true,
        });
        if (ok) deleteMessage(m).catch(fail('delete'));
      }}
      onReact={react}
      onMoreReactions={async () => {
        const e = await dialogs.pickEmoji('Add a reaction');
        if (e) react(e);
      }}
      onRetry={() => retrySend(m.id)}
      onDiscard={() => discardSend(m.id)}
    />
  );
});
