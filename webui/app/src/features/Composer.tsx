import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { sendMessage, setTyping } from '../api/app';
import { draftKey, useStore } from '../store';

const MAX_BODY_BYTES = 16 * 1024;
const encoder = new TextEncoder();

/**
 * Composer writes messages. Enter sends, Shift+Enter adds a line. The draft
 * lives in the store (and sessionStorage), so it survives reconnects and
 * switching rooms.
 */
export function Composer({
  room,
  thread,
  reply,
  onCancelReply,
  disabled,
  label = 'Message',
  action = 'Send',
}: {
  room: string;
  thread?: string;
  reply?: { id: string; name: string; body: string } | null;
  onCancelReply?(): void;
  disabled?: boolean;
  label?: string;
  action?: string;
}) {
  const key = draftKey(room, thread);
  const text = useStore((s) => s.drafts[key] ?? '');
  const setDraft = useStore((s) => s.setDraft);
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);

  const send = () => {
    const body = text.trim();
    if (!body) return;
    if (encoder.encode(body).length > MAX_BODY_BYTES) {
      setError('This message is too long (16 KiB at most).');
      return;
    }
    setError(null);
    sendMessage(room, body, { replyTo: reply?.id, thread });
    setDraft(key, '');
    setTyping(room, false);
    onCancelReply?.();
    area.current?.focus();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && reply) {
      onCancelReply?.();
    }
  };

  const rows = Math.min(8, Math.max(1, text.split('\n').length));
  return (
    <form onSubmit={onSubmit} className="border-t border-base-300 p-2 bg-base-100">
      {reply && (
        <div className="flex items-center gap-2 text-sm px-2 pb-1">
          <span className="min-w-0 flex-1 truncate opacity-80">
            Replying to <b>{reply.name}</b>: {reply.body}
          </span>
          <button type="button" className="btn btn-ghost btn-xs" onClick={onCancelReply} aria-label="Cancel reply">
            ✕
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="text-error text-sm px-2 pb-1">
          {error}
        </p>
      )}
      <div className="flex items-end gap-2">
        <textarea
          ref={area}
          aria-label={label}
          className="textarea textarea-bordered flex-1 resize-none min-h-0 leading-snug"
          rows={rows}
          placeholder={disabled ? 'Join the room to write' : 'Write a message'}
          disabled={disabled}
          value={text}
          onChange={(e) => {
            setDraft(key, e.target.value);
            setTyping(room, e.target.value.trim() !== '');
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTyping(room, false)}
        />
        <button type="submit" className="btn btn-primary" disabled={disabled || !text.trim()}>
          {action}
        </button>
      </div>
    </form>
  );
}
