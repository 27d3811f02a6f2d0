import {
  useEffect,
  useId,
  useRef,
  useState,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
  type MutableRefObject,
  type ReactNode,
} from 'react';
import { describeError, sendMessage, setTyping, uploadAttachment, type Uploaded } from '../api/app';
import { codeOf } from '../api/errors';
import { formatBytes, MAX_ATTACHMENTS } from '../components/media';
import { collectMentions, MENTION_PARTIAL, suggestMembers, type Member } from '../components/mentions';
import { displayName, draftKey, useStore } from '../store';
import { useDialogs } from './dialogs';

const MAX_BODY_BYTES = 16 * 1024;
const encoder = new TextEncoder();

// The emoji data module is loaded on the first ":xx" typed.
const emojiData = () => import('../emoji/data');

/** A ":partial" shortcode right before the caret (at a word start), or a finished ":code:". */
const PARTIAL = /(?:^|[\s(])(:[a-z0-9_+-]{2,})$/i;
const FINISHED = /(?:^|[\s(])(:[a-z0-9_+-]+:)$/i;

/** PendingFile is a file attached in the composer: uploading, uploaded, or refused. */
interface PendingFile {
  key: string;
  name: string;
  size: number;
  progress: number;
  done?: Uploaded;
  error?: string;
  abort: AbortController;
}

let fileSeq = 0;

/** An entry of the completion list: an emoji, or a member (or @room) to mention. */
interface Item {
  key: string;
  /** what replaces the partial. */
  text: string;
  label: ReactNode;
  /** the user ID a mention names ('@room' for the whole room). */
  id?: string;
}

interface Completion {
  kind: 'emoji' | 'mention';
  /** where the ":partial" or "@partial" starts in the text. */
  start: number;
  end: number;
  query: string;
  items: Item[];
  active: number;
}

/**
 * Composer writes messages. Enter sends, Shift+Enter adds a line, Esc drops
 * the reply, ↑ in an empty composer edits one's last message; ":sm" offers
 * emoji by shortcode and "@an" the room's members (across nodes) and @room
 * to mention; a send lists the mentions its text makes (API.md §9). The draft lives in the store (and sessionStorage), so
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
  filesRef,
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
  /** filesRef receives this composer's way to attach files (the room's drop zone uses it). */
  filesRef?: MutableRefObject<((files: File[]) => void) | null>;
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
  const [files, setFiles] = useState<PendingFile[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const filesNow = useRef(files);
  filesNow.current = files;
  const me = useStore((s) => s.session.user?.id);
  const memberIds = useStore((s) => s.rooms.byId[room]?.members);
  const presence = useStore((s) => s.presence);
  const members = (): Member[] => (memberIds ?? []).map((id) => ({ id, name: displayName(presence, id) }));
  /** the user picked for each "@name" this draft completed (two members may share a username). */
  const chosen = useRef(new Map<string, string>());

  const patchFile = (key: string, patch: Partial<PendingFile>) =>
    setFiles((list) => list.map((f) => (f.key === key ? { ...f, ...patch } : f)));

  /** addFiles attaches files and starts uploading them at once, so they are ready by the time the text is. */
  const addFiles = (list: File[]) => {
    if (disabled || list.length === 0) return;
    const room0 = filesNow.current.length;
    const take = list.slice(0, Math.max(0, MAX_ATTACHMENTS - room0));
    if (take.length < list.length) setError(`A message carries at most ${MAX_ATTACHMENTS} files.`);
    else setError(null);
    const added = take.map((file) => ({
      key: `f${++fileSeq}`,
      name: file.name || 'pasted file',
      size: file.size,
      progress: 0,
      abort: new AbortController(),
      file,
    }));
    setFiles((cur) => [...cur, ...added.map(({ file: _f, ...p }) => p)]);
    for (const p of added) {
      uploadAttachment(room, p.file, { onProgress: (x) => patchFile(p.key, { progress: x }), signal: p.abort.signal })
        .then((done) => patchFile(p.key, { done, progress: 1 }))
        .catch((err) => {
          if (p.abort.signal.aborted) return;
          patchFile(p.key, { error: uploadError(err) });
        });
    }
  };
  const addRef = useRef(addFiles);
  addRef.current = addFiles;
  useEffect(() => {
    if (!filesRef) return;
    filesRef.current = (l) => addRef.current(l);
    return () => {
      filesRef.current = null;
    };
  }, [filesRef]);
  // Uploads still running when the composer goes are cancelled.
  useEffect(() => () => filesNow.current.forEach((f) => f.abort.abort()), []);

  const removeFile = (key: string) => {
    filesNow.current.find((f) => f.key === key)?.abort.abort();
    setFiles((list) => list.filter((f) => f.key !== key));
  };

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const pasted = Array.from(e.clipboardData?.files ?? []);
    if (pasted.length === 0) return; // text: the textarea takes it
    e.preventDefault();
    addFiles(pasted);
  };

  const uploading = files.some((f) => !f.done && !f.error);
  const ready = files.filter((f) => f.done);

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
    if (!body && ready.length === 0) return;
    if (uploading) {
      setError('Wait for the files to finish uploading.');
      return;
    }
    if (encoder.encode(body).length > MAX_BODY_BYTES) {
      setError('This message is too long (16 KiB at most).');
      return;
    }
    setError(null);
    setComp(null);
    const attachments = ready.map((f) => f.done!.media);
    const enc = ready.flatMap((f) => (f.done!.file ? [f.done!.file] : []));
    const { mentions, mentionsRoom } = collectMentions(body, chosen.current, members(), me);
    chosen.current.clear();
    sendMessage(room, body, {
      replyTo: reply?.id,
      thread,
      attachments: attachments.length ? attachments : undefined,
      files: enc.length ? enc : undefined,
      mentions: mentions.length ? mentions : undefined,
      mentionsRoom: mentionsRoom || undefined,
    });
    setFiles([]);
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

  /** pick takes an entry of the completion list. */
  const pick = (c: Completion, item: Item) => {
    if (c.kind === 'mention' && item.id && item.id !== '@room') chosen.current.set(item.text.slice(1).trim(), item.id);
    insert(item.text, c.start, c.end);
  };

  // Look for an @name or a shortcode before the caret after each change.
  const complete = (value: string, caret: number) => {
    const before = value.slice(0, caret);
    const at = before.match(MENTION_PARTIAL);
    if (at) {
      const start = caret - at[1].length - 1;
      const items: Item[] = suggestMembers(at[1], members(), me).map((s) => ({
        key: s.id,
        text: `@${s.insert} `,
        id: s.id,
        label: (
          <span className="flex flex-col items-start min-w-0">
            <span className="font-semibold truncate max-w-full" dir="auto">
              {s.label}
            </span>
            <span className="text-xs opacity-70 truncate max-w-full">{s.id === '@room' ? s.detail : `@${s.insert} · ${s.detail}`}</span>
          </span>
        ),
      }));
      setComp(items.length ? { kind: 'mention', start, end: caret, query: at[1], items, active: 0 } : null);
      return;
    }
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
        const list: Item[] = items.map((s) => ({
          key: s.emoji,
          text: s.emoji,
          label: (
            <>
              <span className="text-lg" aria-hidden="true">
                {s.emoji}
              </span>{' '}
              :{s.shortcode}:
            </>
          ),
        }));
        setComp(list.length ? { kind: 'emoji', start, end: caret, query, items: list, active: 0 } : null);
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
        pick(comp, comp.items[comp.active]);
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
          aria-label={comp.kind === 'mention' ? 'People to mention' : 'Emoji suggestions'}
          className="absolute bottom-full left-2 mb-1 z-20 menu menu-sm bg-base-100 border border-base-300 rounded-box shadow-lg w-72 max-w-[calc(100%-1rem)]"
        >
          {comp.items.map((s, i) => (
            <li key={s.key} role="presentation">
              <button
                type="button"
                role="option"
                id={`${listId}-${i}`}
                aria-selected={i === comp.active}
                tabIndex={-1}
                className={i === comp.active ? 'menu-active' : ''}
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => pick(comp, s)}
              >
                {s.label}
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
      {files.length > 0 && (
        <ul className="flex flex-wrap gap-2 px-2 pb-2" aria-label="Attached files">
          {files.map((f) => (
            <li
              key={f.key}
              className={`flex flex-col gap-1 rounded-box border px-2 py-1 text-sm max-w-64 ${f.error ? 'border-error' : 'border-base-300'}`}
              data-upload={f.error ? 'failed' : f.done ? 'done' : 'uploading'}
            >
              <div className="flex items-center gap-2 min-w-0">
                <span className="truncate flex-1" dir="auto" title={f.name}>
                  {f.name}
                </span>
                <span className="opacity-70 whitespace-nowrap text-xs">{formatBytes(f.size)}</span>
                <button type="button" className="btn btn-ghost btn-xs" aria-label={`Remove ${f.name}`} onClick={() => removeFile(f.key)}>
                  ✕
                </button>
              </div>
              {f.error ? (
                <p role="alert" className="text-danger text-xs">
                  {f.error}
                </p>
              ) : (
                !f.done && (
                  <progress
                    className="progress progress-primary w-full"
                    value={Math.round(f.progress * 100)}
                    max={100}
                    aria-label={`Uploading ${f.name}`}
                  />
                )
              )}
            </li>
          ))}
        </ul>
      )}
      <div className="flex items-end gap-2">
        <input
          ref={fileInput}
          type="file"
          multiple
          className="hidden"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => {
            addFiles(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="btn btn-ghost btn-square"
          aria-label="Attach files"
          title="Attach files (or paste, or drop them on the room)"
          disabled={disabled}
          onClick={() => fileInput.current?.click()}
        >
          <span aria-hidden="true">📎</span>
        </button>
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
          onPaste={onPaste}
          onBlur={() => {
            setTyping(room, false);
            setComp(null);
          }}
        />
        <button type="submit" className="btn btn-primary" disabled={disabled || uploading || (!text.trim() && ready.length === 0)}>
          {action}
        </button>
      </div>
    </form>
  );
}

/** uploadError says in a sentence why an upload failed (API.md §6: 413 too_large or quota_exceeded, 429). */
function uploadError(err: unknown): string {
  // A node that refuses a large body may close the connection before the
  // browser has sent it all: the browser then reports a network error.
  if (codeOf(err) === 'network') {
    return 'The upload was cut off: the file may be larger than this node accepts, or the connection dropped.';
  }
  return describeError(err, 'upload');
}
