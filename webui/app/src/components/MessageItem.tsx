import { memo, useLayoutEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { ChatMessage } from '../store';
import { Avatar } from './Avatar';
import { formatFull, formatTime } from './format';
import { QUICK_REACTIONS, Reactions } from './Reactions';
import { RichText, type Mentions } from './RichText';
import { mentionsMe } from '../store/rooms';
import { Attachments } from './Attachments';
import { EncryptedNotice, ShieldNote, unreadable } from '../crypto/ui/EncryptedNotice';

export { QUICK_REACTIONS };

export type Receipt = 'sent' | 'delivered' | 'read';

export interface MessageItemProps {
  m: ChatMessage;
  senderName: string;
  mine: boolean;
  /** the viewer may delete this message of someone else (a moderator over a lower role). */
  canRemove?: boolean;
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
  /** tapped on a touch screen: its actions show until another message is tapped. */
  selected?: boolean;
  /** flash it: it was brought into view on request. */
  highlighted?: boolean;
  /** why a failed send failed, in words. */
  errorText?: string;
  onSelect?(): void;
  onReply?(): void;
  onThread?(): void;
  onEdit?(): void;
  onCancelEdit?(): void;
  onSaveEdit?(body: string): void;
  onDelete?(): void;
  onReact?(emoji: string): void;
  onMoreReactions?(): void;
  onRetry?(): void;
  onDiscard?(): void;
  onOpenProfile?(userId: string): void;
  onOpenQuote?(): void;
}

const RECEIPT_LABEL: Record<Receipt, string> = { sent: 'Sent', delivered: 'Delivered', read: 'Read' };

// Touch screens have no hover: a tap (or a long press) on a message shows
// its actions instead.
const touchScreen = typeof matchMedia !== 'undefined' && matchMedia('(hover: none)').matches;

/** Long bodies fold behind "Show more" past this height (px). */
const FOLD_PX = 288;

const interactive = (t: EventTarget | null) => t instanceof Element && !!t.closest('a, button, textarea, input, [role=toolbar]');

// One to three emoji and nothing else show large.
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic}|\p{Emoji_Modifier})*\s*){1,3}$/u;

export const MessageItem = memo(function MessageItem(p: MessageItemProps) {
  const { m } = p;
  const [quick, setQuick] = useState(false);
  const local = m.status !== undefined;
  const showActions = !local && !m.deleted && !p.editing;
  // A message that mentions the reader stands out, as in every chat app.
  const me = mentionsMe(m, p.myId);

  const select = (e: MouseEvent) => {
    if (!touchScreen || !showActions || interactive(e.target)) return;
    p.onSelect?.();
  };
  const longPress = (e: MouseEvent) => {
    if (!touchScreen || !showActions || (e.target instanceof Element && e.target.closest('a'))) return;
    e.preventDefault();
    if (!p.selected) p.onSelect?.();
  };
  const toolbarShown = p.selected
    ? 'opacity-100 pointer-events-auto'
    : 'opacity-0 pointer-events-none group-hover:opacity-100 group-hover:pointer-events-auto group-focus-within:opacity-100 group-focus-within:pointer-events-auto';
  const act = 'btn btn-ghost btn-xs pointer-coarse:min-h-9 pointer-coarse:px-3';

  return (
    <div className={p.grouped ? '' : 'pt-2'}>
      {p.dayLabel && (
        <div className="divider text-xs my-2" role="separator">
          {p.dayLabel}
        </div>
      )}
      <article
        data-message-id={m.id}
        data-status={m.status ?? p.receipt ?? 'sent'}
        data-selected={p.selected ? 'true' : undefined}
        data-highlighted={p.highlighted ? 'true' : undefined}
        data-mentions-me={me ? 'true' : undefined}
        aria-label={`${p.senderName} at ${formatTime(m.ts)}`}
        onClick={select}
        onContextMenu={longPress}
        className={`group relative flex gap-3 px-4 py-0.5 hover:bg-base-200/60 focus-within:bg-base-200/60 ${p.selected ? 'bg-base-200' : ''} ${local ? 'opacity-80' : ''} ${me ? 'mentions-me' : ''}`}
      >
        <div className="w-9 shrink-0">
          {!p.grouped && <Avatar id={m.sender} name={p.senderName} />}
          {p.grouped && (
            <time
              className="hidden group-hover:block -ml-3 w-12 whitespace-nowrap text-[10px] opacity-70 pt-1 text-right"
              dateTime={new Date(m.ts).toISOString()}
              title={formatFull(m.ts)}
            >
              {formatTime(m.ts)}
            </time>
          )}
        </div>
        <div className="min-w-0 flex-1">
          {!p.grouped && (
            <header className="flex items-baseline gap-2 min-w-0">
              {p.onOpenProfile ? (
                <button
                  type="button"
                  className="font-semibold truncate hover:underline focus-visible:underline"
                  dir="auto"
                  onClick={() => p.onOpenProfile?.(m.sender)}
                >
                  {p.senderName}
                </button>
              ) : (
                <span className="font-semibold truncate" dir="auto">
                  {p.senderName}
                </span>
              )}
              <time className="text-xs opacity-70 whitespace-nowrap" dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
                {formatTime(m.ts)}
              </time>
            </header>
          )}
          {m.replyTo && (
            <blockquote className="border-l-4 border-base-300 my-1 text-sm" data-reply-to={m.replyTo}>
              <button
                type="button"
                className="block w-full text-left pl-2 opacity-90 truncate hover:opacity-100 hover:bg-base-200 rounded-r"
                dir="auto"
                title="Show the original message"
                onClick={p.onOpenQuote}
              >
                {p.reply ? (
                  <>
                    <span className="font-semibold">{p.reply.name}: </span>
                    {p.reply.deleted ? <em>deleted message</em> : p.reply.body}
                  </>
                ) : (
                  <em>Reply to an earlier message</em>
                )}
              </button>
            </blockquote>
          )}
          {p.editing ? (
            <EditBox initial={m.body} onSave={(b) => p.onSaveEdit?.(b)} onCancel={() => p.onCancelEdit?.()} />
          ) : m.deleted ? (
            <p className="italic opacity-70">Message deleted</p>
          ) : unreadable(m) ? (
            <EncryptedNotice m={m} />
          ) : (
            <>
              {(m.body || !(m.attachments?.length || m.files?.length)) && (
                <Body text={m.body} edited={!!m.editedAt} mentions={{ mentions: m.mentions, mentionsRoom: m.mentionsRoom, me: p.myId }} />
              )}
              {/* In an encrypted room the clear attachments are ciphertext: only the decrypted files show. */}
              <Attachments media={m.encrypted || m.files ? undefined : m.attachments} files={m.files} />
            </>
          )}
          <ShieldNote m={m} />
          <Reactions
            reactions={m.reactions}
            nameOf={p.nameOf}
            disabled={local || m.deleted}
            onToggle={(e) => p.onReact?.(e)}
            onAdd={p.onMoreReactions}
          />
          {!p.inThread && (m.threadCount ?? 0) > 0 && (
            <button type="button" className="btn btn-link btn-xs px-0" onClick={p.onThread}>
              {m.threadCount} {m.threadCount === 1 ? 'reply' : 'replies'}
            </button>
          )}
          {m.status === 'pending' && <p className="text-xs opacity-70">Sending…</p>}
          {m.status === 'failed' && (
            <p className="text-xs text-danger flex flex-wrap items-center gap-2" role="alert">
              Not sent{p.errorText ? `: ${p.errorText}` : '.'}
              <button type="button" className="btn btn-xs btn-outline btn-error" onClick={p.onRetry}>
                Retry
              </button>
              <button type="button" className="btn btn-xs btn-ghost" onClick={p.onDiscard}>
                Discard
              </button>
            </p>
          )}
          {p.mine && !local && p.receipt && (
            <p className={`text-xs ${p.receipt === 'read' ? 'text-primary' : 'opacity-70'}`} data-receipt={p.receipt}>
              <span aria-hidden="true">{p.receipt === 'sent' ? '✓' : '✓✓'}</span> {RECEIPT_LABEL[p.receipt]}
            </p>
          )}
          {p.readers && p.readers.length > 0 && (
            <p className="text-xs opacity-80" data-read-by>
              Seen by {p.readers.join(', ')}
            </p>
          )}
        </div>
        {showActions && (
          <div
            className={`absolute right-3 -top-3 z-10 flex flex-wrap justify-end gap-0.5 bg-base-100 border border-base-300 rounded-box shadow-sm p-0.5 ${toolbarShown}`}
            // Hidden by opacity, not display, so keyboard users can Tab into it.
            role="toolbar"
            aria-label="Message actions"
          >
            <button type="button" className={act} aria-label="Add reaction" aria-expanded={quick} onClick={() => setQuick((v) => !v)}>
              ☺
            </button>
            {quick && (
              <>
                {QUICK_REACTIONS.map((e) => (
                  <button
                    key={e}
                    type="button"
                    className={act}
                    aria-label={`React ${e}`}
                    onClick={() => {
                      setQuick(false);
                      p.onReact?.(e);
                    }}
                  >
                    {e}
                  </button>
                ))}
                {p.onMoreReactions && (
                  <button
                    type="button"
                    className={act}
                    onClick={() => {
                      setQuick(false);
                      p.onMoreReactions?.();
                    }}
                  >
                    More…
                  </button>
                )}
              </>
            )}
            {p.onReply && (
              <button type="button" className={act} onClick={p.onReply}>
                Reply
              </button>
            )}
            {!p.inThread && p.onThread && (
              <button type="button" className={act} onClick={p.onThread}>
                Thread
              </button>
            )}
            {p.mine && (
              <>
                <button type="button" className={act} onClick={p.onEdit}>
                  Edit
                </button>
                <button type="button" className={`${act} text-danger`} onClick={p.onDelete}>
                  Delete
                </button>
              </>
            )}
            {!p.mine && p.canRemove && !p.m.deleted && (
              <button type="button" className={`${act} text-danger`} onClick={p.onDelete}>
                Delete
              </button>
            )}
          </div>
        )}
      </article>
    </div>
  );
});

/** Body renders the text of a message, folding a long one behind "Show more". */
function Body({ text, edited, mentions }: { text: string; edited: boolean; mentions?: Mentions }) {
  const box = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const [long, setLong] = useState(false);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setLong(el.scrollHeight > FOLD_PX + 8);
    measure();
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(measure) : null;
    ro?.observe(el);
    return () => ro?.disconnect();
  }, [text]);
  const big = EMOJI_ONLY.test(text.trim());
  return (
    <div data-body dir="auto" className={big ? 'text-4xl leading-tight' : 'break-words'}>
      <div
        ref={box}
        className={long && !open ? 'overflow-hidden [mask-image:linear-gradient(to_bottom,black_75%,transparent)]' : ''}
        style={long && !open ? { maxHeight: FOLD_PX } : undefined}
      >
        <RichText text={text} mentions={mentions} />
      </div>
      {edited && <span className="text-xs opacity-70"> (edited)</span>}
      {long && (
        <button type="button" className="btn btn-link btn-xs px-0 block" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
          {open ? 'Show less' : 'Show more'}
        </button>
      )}
    </div>
  );
}

function EditBox({ initial, onSave, onCancel }: { initial: string; onSave(b: string): void; onCancel(): void }) {
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      if (text.trim()) onSave(text);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    }
  };
  return (
    <div className="flex flex-col gap-1 my-1">
      <textarea
        ref={ref}
        aria-label="Edited text"
        className="textarea textarea-bordered w-full"
        dir="auto"
        value={text}
        rows={Math.min(8, Math.max(2, text.split('\n').length))}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
      />
      <div className="flex gap-2 items-center">
        <button type="button" className="btn btn-primary btn-xs" disabled={!text.trim()} onClick={() => onSave(text)}>
          Save
        </button>
        <button type="button" className="btn btn-ghost btn-xs" onClick={onCancel}>
          Cancel
        </button>
        <span className="text-xs opacity-70">Enter saves, Esc cancels</span>
      </div>
    </div>
  );
}
