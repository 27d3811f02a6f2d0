import { memo, useSyncExternalStore, type ReactNode } from 'react';
import { linkify } from './linkify';
import type { TextRenderer } from './Markdown';
import { splitMentions } from './mentions';

// The Markdown renderer is a chunk of its own, loaded once someone is
// signed in (the login screen never needs it). Until it arrives bodies
// show as plain text; then every RichText renders again, formatted.
type Renderer = (text: string, plain?: TextRenderer) => ReactNode;
let markdown: Renderer | null = null;
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

/** loadMarkdown fetches the Markdown renderer (once). */
export function loadMarkdown(): Promise<void> {
  loading ??= import('./Markdown').then((m) => {
    markdown = m.renderMarkdown;
    for (const l of listeners) l();
  });
  return loading;
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};
const current = () => markdown;

// Text with none of these cannot contain formatting, and skips the parser.
const MARKUP = /[*_~`>[\\&]|^\s*(?:[-+]|\d+[.)])\s/m;

/** plainText renders a body as text, with http(s) URLs as links. */
function plainText(text: string): ReactNode {
  return linkify(text).map((p, i) =>
    p.kind === 'link' ? (
      <a key={i} href={p.href} target="_blank" rel="noopener noreferrer" className="link link-primary break-all">
        {p.text}
      </a>
    ) : (
      <span key={i}>{p.text}</span>
    ),
  );
}

/** Mentions are the message's explicit mentions, and who reads it. */
export interface Mentions {
  mentions?: string[];
  mentionsRoom?: boolean;
  me?: string;
}

/** withMentions renders a run of text with the mentions it lists as highlighted chips. */
function withMentions(m: Mentions, inner: (text: string) => ReactNode): TextRenderer {
  return (text, key) => {
    const parts = splitMentions(text, m, m.me);
    if (parts.length === 1 && parts[0].kind === 'text') return <span key={key}>{inner(text)}</span>;
    return (
      <span key={key}>
        {parts.map((p, i) =>
          p.kind === 'mention' ? (
            <span key={i} className={`mention${p.me ? ' mention-me' : ''}`} data-mention={p.text.slice(1)}>
              {p.text}
            </span>
          ) : (
            <span key={i}>{inner(p.text)}</span>
          ),
        )}
      </span>
    );
  };
}

/**
 * RichText renders a message body: Markdown formatting through the lazy
 * renderer, never HTML (markup in a body shows as characters). data-md
 * says which way it went, for tests and styles.
 */
export const RichText = memo(function RichText({ text, mentions }: { text: string; mentions?: Mentions }) {
  const md = useSyncExternalStore(subscribe, current, current);
  const formatted = md !== null && MARKUP.test(text);
  const listed = !!mentions && (!!mentions.mentions?.length || !!mentions.mentionsRoom);
  let content: ReactNode;
  if (formatted) content = listed ? md(text, withMentions(mentions, (t) => t)) : md(text);
  else content = listed ? withMentions(mentions, plainText)(text, 0) : plainText(text);
  return (
    <div className={formatted ? 'md' : 'whitespace-pre-wrap'} data-md={formatted ? 'on' : 'off'}>
      {content}
    </div>
  );
});
