import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { sendMessage, setTyping } from '../api/app';
import type { Suggestion } from '../emoji/data';
import { draftKey, useStore } from '../store';
import { useDialogs } from './dialogs';

const MAX_BODY_BYTES = 16 * 1024;
const encoder = new TextEncoder();

// The emoji data module is loaded on the first ":xx" typed.
const emojiData = () => import('../emoji/data');

/** A ":partial" shortcode right before the caret (at a word start), or a finished ":code:". */
const PARTIAL = /(?:^|[\s(])(:[a-z0-9_+-]{2,})$/i;
const FINISHED = /(?:^|[\s(])(:[a-z0-9_+-]+:)$/i;

interface Completion {
  /** where the ":partial" starts in the text. */
  start: number;
  end: number;
  query: string;
  items: Suggestion[];
  active: number;
}

/**
 * Composer writes messages. Enter sends, Shift+Enter adds a line, Esc drops
 * the reply, ↑ in an empty composer edits one's last message; ":sm" offers
 * emoji by shortcode. The draft lives in the store (and sessionStorage), so
 * it survives reconnects and switching rooms; everything else (an error)
 * belongs to one room: RoomView gives each room its own Composer.
 */
export function Composer({
  room,
  thread,
  reply,
  onCancelReply,
  onEditLast,
  disabled,
  label = 'Message',
  action = 'Send',
}: {
  room: string;
  thread?: string;
  reply?: { id: string; name: string; body: string } | null;
  onCancelReply?(): void;
  /** edits the user's last message; false when there is none. */
  onEditLast?(): boolean;
  disabled?: boolean;
  label?: string;
  action?: string;
}) {
  const key = draftKey(room, thread);
  const text = useStore((s) => s.drafts[key] ?? '');
  const setDraft = useStore((s) => s.setDraft);
  const editing = useStore((s) => s.view.editing);
  const [error, setError] = useState<string | null>(null);
  const [comp, setComp] = useState<Completion | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const editStarted = useRef(false);
  const listId = useId();
  const dialogs = useDialogs();

  // Back to the composer when an edit started here ends.
  useEffect(() => {
    if (!editing && editStarted.current) {
      editStarted.current = false;
      area.current?.focus();
    }
  }, [editing]);

  const setText = (v: string) => {
    setDraft(key, v);
    setTyping(room, v.trim() !== '');
  };

  const send = () => {
    const body = text.trim();
    if (!body) return;
    if (encoder.encode(body).length > MAX_BODY_BYTES) {
      setError('This message is too long (16 KiB at most).');
      return;
    }
    setError(null);
    setComp(null);
    sendMessage(room, body, { replyTo: reply?.id, thread });
    setDraft(key, '');
    setTyping(room, false);
    onCancelReply?.();
    area.current?.focus();
  };

  /** insert puts s in place of text[start, end) and moves the caret after it. */
  const insert = (s: string, start: number, end: number) => {
    const next = text.slice(0, start) + s + text.slice(end);
    setText(next);
    setComp(null);
    requestAnimationFrame(() => {
      const el = area.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(start + s.length, start + s.length);
    });
  };

  // Look for a shortcode before the caret after each change.
  const complete = (value: string, caret: number) => {
    const before = value.slice(0, caret);
    const done = before.match(FINISHED);
    if (done) {
      const code = done[1];
      emojiData()
        .then((d) => d.byShortcode(code.slice(1, -1)))
        .then((emoji) => {
          const el = area.current;
          // Only if the text still ends that way.
          if (emoji && el && el.value.slice(0, caret).endsWith(code)) insert(emoji, caret - code.length, caret);
        })
        .catch(() => undefined);
      setComp(null);
      return;
    }
    const m = before.match(PARTIAL);
    if (!m) {
      setComp(null);
      return;
    }
    const query = m[1].slice(1).toLowerCase();
    const start = caret - m[1].length;
    emojiData()
      .then((d) => d.suggest(query))
      .then((items) => {
        const el = area.current;
        if (!el || el.value.slice(start, el.selectionStart) !== m[1]) return; // typed on since
        setComp(items.length ? { start, end: caret, query, items, active: 0 } : null);
      })
      .catch(() => setComp(null));
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return;
    if (comp) {
      const n = comp.items.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setComp({ ...comp, active: (comp.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        insert(comp.items[comp.active].emoji, comp.start, comp.end);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setComp(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && reply) {
      e.preventDefault();
      onCancelReply?.();
    } else if (e.key === 'ArrowUp' && text === '' && onEditLast) {
      if (onEditLast()) {
        e.preventDefault();
        editStarted.current = true;
      }
    }
  };

  const pickEmoji = async () => {
    const el = area.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    const emoji = await dialogs.pickEmoji('Insert an emoji');
    if (emoji) insert(emoji, start, end);
    else el?.focus();
  };

  const rows = Math.min(8, Math.max(1, text.split('\n').length));
  const activeId = comp ? `${listId}-${comp.active}` : undefined;
  return (
    <form onSubmit={onSubmit} className="relative border-t border-base-300 p-2 bg-base-100">
      {comp && (
        <ul
          id={listId}
          role="listbox"
          aria-label="Emoji suggestions"
          className="absolute bottom-full left-2 mb-1 z-20 menu menu-sm bg-base-100 border border-base-300 rounded-box shadow-lg w-72 max-w-[calc(100%-1rem)]"
        >
          {comp.items.map((s, i) => (
            <li key={s.emoji} role="presentation">
              <button
                type="button"
                role="option"
                id={`${listId}-${i}`}
                aria-selected={i === comp.active}
                tabIndex={-1}
                className={i === comp.active ? 'menu-active' : ''}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => insert(s.emoji, comp.start, comp.end)}
              >
                <span className="text-lg" aria-hidden="true">
                  {s.emoji}
                </span>{' '}
                :{s.shortcode}:
              </button>
            </li>
          ))}
        </ul>
      )}
      {reply && (
        <div className="flex items-center gap-2 text-sm px-2 pb-1">
          <span className="min-w-0 flex-1 truncate opacity-90" dir="auto">
            Replying to <b>{reply.name}</b>: {reply.body}
          </span>
          <button type="button" className="btn btn-ghost btn-xs" onClick={onCancelReply} aria-label="Cancel reply">
            ✕
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="text-danger text-sm px-2 pb-1">
          {error}
        </p>
      )}
      <div className="flex items-end gap-2">
        <button
          type="button"
          className="btn btn-ghost btn-square"
          aria-label="Insert emoji"
          disabled={disabled}
          onClick={pickEmoji}
        >
          ☺
        </button>
        <textarea
          ref={area}
          aria-label={label}
          aria-autocomplete="list"
          aria-controls={comp ? listId : undefined}
          aria-activedescendant={activeId}
          className="textarea textarea-bordered flex-1 resize-none min-h-0 leading-snug"
          dir="auto"
          rows={rows}
          placeholder={disabled ? 'Join the room to write' : 'Write a message'}
          disabled={disabled}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            complete(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => {
            setTyping(room, false);
            setComp(null);
          }}
        />
        <button type="submit" className="btn btn-primary" disabled={disabled || !text.trim()}>
          {action}
        </button>
      </div>
    </form>
  );
}
