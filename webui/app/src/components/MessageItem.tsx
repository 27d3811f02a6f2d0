import { memo, useState, type KeyboardEvent } from 'react';
import type { ChatMessage } from '../store';
import { Avatar } from './Avatar';
import { formatFull, formatTime } from './format';
import { RichText } from './RichText';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export type Receipt = 'sent' | 'delivered' | 'read';

export interface MessageItemProps {
  m: ChatMessage;
  senderName: string;
  mine: boolean;
  /** a continuation of the previous message's group: no avatar or name. */
  grouped: boolean;
  /** the day separator to show above this message, if it starts a day. */
  dayLabel?: string;
  /** the quoted message of a reply; null when it is not loaded. */
  reply?: { name: string; body: string; deleted?: boolean } | null;
  receipt?: Receipt;
  readers?: string[];
  myId?: string;
  nameOf(id: string): string;
  editing: boolean;
  inThread?: boolean;
  onReply?(): void;
  onThread?(): void;
  onEdit?(): void;
  onCancelEdit?(): void;
  onSaveEdit?(body: string): void;
  onDelete?(): void;
  onReact?(emoji: string): void;
  onRetry?(): void;
  onDiscard?(): void;
}

const RECEIPT_LABEL: Record<Receipt, string> = { sent: 'Sent', delivered: 'Delivered', read: 'Read' };

export const MessageItem = memo(function MessageItem(p: MessageItemProps) {
  const { m } = p;
  const [picker, setPicker] = useState(false);
  const local = m.status !== undefined;
  const reactions = (m.reactions ?? []).filter((r) => r.count > 0);

  return (
    <div className={p.grouped ? '' : 'pt-2'}>
      {p.dayLabel && (
        <div className="divider text-xs opacity-70 my-2" role="separator">
          {p.dayLabel}
        </div>
      )}
      <article
        data-message-id={m.id}
        data-status={m.status ?? p.receipt ?? 'sent'}
        aria-label={`${p.senderName} at ${formatTime(m.ts)}`}
        className={`group relative flex gap-3 px-4 py-0.5 hover:bg-base-200/60 focus-within:bg-base-200/60 ${local ? 'opacity-80' : ''}`}
      >
        <div className="w-9 shrink-0">
          {!p.grouped && <Avatar id={m.sender} name={p.senderName} />}
          {p.grouped && (
            <time
              className="hidden group-hover:block text-[10px] opacity-60 pt-1 text-right"
              dateTime={new Date(m.ts).toISOString()}
            >
              {formatTime(m.ts)}
            </time>
          )}
        </div>
        <div className="min-w-0 flex-1">
          {!p.grouped && (
            <header className="flex items-baseline gap-2">
              <span className="font-semibold truncate">{p.senderName}</span>
              <time className="text-xs opacity-60" dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
                {formatTime(m.ts)}
              </time>
            </header>
          )}
          {m.replyTo && (
            <blockquote className="border-l-4 border-base-300 pl-2 my-1 text-sm opacity-80 truncate" data-reply-to={m.replyTo}>
              {p.reply ? (
                <>
                  <span className="font-semibold">{p.reply.name}: </span>
                  {p.reply.deleted ? <em>deleted message</em> : p.reply.body}
                </>
              ) : (
                <em>Reply to an earlier message</em>
              )}
            </blockquote>
          )}
          {p.editing ? (
            <EditBox initial={m.body} onSave={(b) => p.onSaveEdit?.(b)} onCancel={() => p.onCancelEdit?.()} />
          ) : m.deleted ? (
            <p className="italic opacity-60">Message deleted</p>
          ) : (
            <p className="whitespace-pre-wrap break-words" data-body>
              <RichText text={m.body} />
              {m.editedAt && <span className="text-xs opacity-60"> (edited)</span>}
            </p>
          )}
          {reactions.length > 0 && (
            <div className="flex flex-wrap gap-1 mt-1">
              {reactions.map(({ emoji, count, users, me }) => {
                const mineR = !!me;
                // The node names a few of the users; the count says how many.
                const more = count - users.length;
                const who = users.map(p.nameOf).join(', ') + (more > 0 ? ` and ${more} more` : '');
                return (
                  <button
                    key={emoji}
                    type="button"
                    className={`btn btn-xs ${mineR ? 'btn-primary btn-outline' : 'btn-ghost border-base-300'}`}
                    aria-pressed={mineR}
                    title={who}
                    aria-label={`${emoji} ${count}, by ${who}`}
                    onClick={() => p.onReact?.(emoji)}
                    disabled={local || m.deleted}
                  >
                    {emoji} {count}
                  </button>
                );
              })}
            </div>
          )}
          {!p.inThread && (m.threadCount ?? 0) > 0 && (
            <button type="button" className="btn btn-link btn-xs px-0" onClick={p.onThread}>
              {m.threadCount} {m.threadCount === 1 ? 'reply' : 'replies'}
            </button>
          )}
          {m.status === 'pending' && <p className="text-xs opacity-60">Sending…</p>}
          {m.status === 'failed' && (
            <p className="text-xs text-error flex items-center gap-2" role="alert">
              Not sent{m.error ? `: ${m.error}` : ''}.
              <button type="button" className="btn btn-xs btn-outline btn-error" onClick={p.onRetry}>
                Retry
              </button>
              <button type="button" className="btn btn-xs btn-ghost" onClick={p.onDiscard}>
                Discard
              </button>
            </p>
          )}
          {p.mine && !local && p.receipt && (
            <p className={`text-xs ${p.receipt === 'read' ? 'text-primary' : 'opacity-60'}`} data-receipt={p.receipt}>
              <span aria-hidden="true">{p.receipt === 'sent' ? '✓' : '✓✓'}</span> {RECEIPT_LABEL[p.receipt]}
            </p>
          )}
          {p.readers && p.readers.length > 0 && (
            <p className="text-xs opacity-70" data-read-by>
              Seen by {p.readers.join(', ')}
            </p>
          )}
        </div>
        {!local && !m.deleted && !p.editing && (
          <div
            className="absolute right-3 -top-3 flex gap-0.5 bg-base-100 border border-base-300 rounded-box shadow-sm p-0.5 opacity-0 pointer-events-none group-hover:opacity-100 group-hover:pointer-events-auto group-focus-within:opacity-100 group-focus-within:pointer-events-auto"
            // Hidden by opacity, not display, so keyboard users can Tab into it.
            role="toolbar"
            aria-label="Message actions"
          >
            <button type="button" className="btn btn-ghost btn-xs" aria-label="Add reaction" aria-expanded={picker} onClick={() => setPicker((v) => !v)}>
              ☺
            </button>
            {picker &&
              QUICK_REACTIONS.map((e) => (
                <button
                  key={e}
                  type="button"
                  className="btn btn-ghost btn-xs"
                  aria-label={`React ${e}`}
                  onClick={() => {
                    setPicker(false);
                    p.onReact?.(e);
                  }}
                >
                  {e}
                </button>
              ))}
            {p.onReply && (
              <button type="button" className="btn btn-ghost btn-xs" onClick={p.onReply}>
                Reply
              </button>
            )}
            {!p.inThread && p.onThread && (
              <button type="button" className="btn btn-ghost btn-xs" onClick={p.onThread}>
                Thread
              </button>
            )}
            {p.mine && (
              <>
                <button type="button" className="btn btn-ghost btn-xs" onClick={p.onEdit}>
                  Edit
                </button>
                <button type="button" className="btn btn-ghost btn-xs text-error" onClick={p.onDelete}>
                  Delete
                </button>
              </>
            )}
          </div>
        )}
      </article>
    </div>
  );
});

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave(b: string): void; onCancel(): void }) {
  const [text, setText] = useState(initial);
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      if (text.trim()) onSave(text);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      onCancel();
    }
  };
  return (
    <div className="flex flex-col gap-1 my-1">
      <textarea
        aria-label="Edited text"
        className="textarea textarea-bordered w-full"
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
      />
      <div className="flex gap-2">
        <button type="button" className="btn btn-primary btn-xs" disabled={!text.trim()} onClick={() => onSave(text)}>
          Save
        </button>
        <button type="button" className="btn btn-ghost btn-xs" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
