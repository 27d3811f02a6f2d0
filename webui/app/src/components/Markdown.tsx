// Markdown renders a message body's formatting: bold, italic,
// strikethrough, inline code, code blocks, quotes, lists and links. It is
// loaded lazily (RichText shows plain text until it arrives).
//
// Why markdown-it: it is well kept, CommonMark-exact, and with html:false
// raw HTML in a body is plain text, as API.md §5 demands; and its parser
// hands out tokens, so this file builds React elements from them and no
// HTML string is ever produced or set (react-markdown would do the same
// through remark, but drops raw HTML instead of showing it, and is larger).
import MarkdownIt, { type Token } from 'markdown-it';
import { createElement, Fragment, type ReactNode } from 'react';

const md = new MarkdownIt('default', { html: false, linkify: true, breaks: true, typographer: false });
// What chat needs, nothing that changes a message's size or reaches out:
// no headings or rules (a "#" or "---" line stays text), no images (no
// requests to other hosts), no tables, no reference definitions.
md.disable(['heading', 'lheading', 'hr', 'image', 'table', 'reference']);
// Link only what was written as a URL, not every word with a dot.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
md.validateLink = (url) => /^(https?:\/\/|mailto:)/i.test(url.trim());

/** The elements a body may produce; any other tag renders its children only. */
const TAGS = new Set(['p', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'br']);

function element(t: Token, children: ReactNode[], key: number): ReactNode {
  if (t.hidden || !TAGS.has(t.tag)) return createElement(Fragment, { key }, ...children);
  const props: Record<string, unknown> = { key };
  if (t.tag === 'a') {
    const href = String(t.attrGet('href') ?? '');
    if (!md.validateLink(href)) return createElement(Fragment, { key }, ...children);
    Object.assign(props, { href, target: '_blank', rel: 'noopener noreferrer', className: 'link link-primary break-all' });
  }
  if (t.tag === 'ol') {
    const start = Number(t.attrGet('start'));
    if (Number.isInteger(start) && start > 1) props.start = start;
  }
  return createElement(t.tag, props, ...children);
}

/** TextRenderer renders a run of plain text (mentions are highlighted there). */
export type TextRenderer = (text: string, key: number) => ReactNode;

const asIs: TextRenderer = (text) => text;

/** render turns a token stream (block or inline) into React nodes. */
function render(tokens: Token[], text: TextRenderer): ReactNode[] {
  const root: ReactNode[] = [];
  const stack: { open: Token; children: ReactNode[] }[] = [];
  const out = () => (stack.length ? stack[stack.length - 1].children : root);
  tokens.forEach((t, key) => {
    if (t.nesting === 1) {
      stack.push({ open: t, children: [] });
      return;
    }
    if (t.nesting === -1) {
      const f = stack.pop();
      if (f) out().push(element(f.open, f.children, key));
      return;
    }
    switch (t.type) {
      case 'inline':
        out().push(createElement(Fragment, { key }, ...render(t.children ?? [], text)));
        break;
      case 'text':
        out().push(text(t.content, key));
        break;
      case 'code_inline':
        out().push(createElement('code', { key }, t.content));
        break;
      case 'code_block':
      case 'fence':
        out().push(createElement('pre', { key }, createElement('code', null, t.content.replace(/\n$/, ''))));
        break;
      case 'softbreak':
      case 'hardbreak':
        out().push(createElement('br', { key }));
        break;
      default:
        // Anything else (html_inline cannot occur with html:false) shows its source.
        if (t.content) out().push(t.content);
    }
  });
  // Unclosed tags (not produced by markdown-it, but never lose text).
  while (stack.length) {
    const f = stack.pop()!;
    out().push(...f.children);
  }
  return root;
}

/** renderMarkdown renders a message body; text renders its plain runs (as they are by default). */
export function renderMarkdown(body: string, text: TextRenderer = asIs): ReactNode {
  return createElement(Fragment, null, ...render(md.parse(body, {}), text));
}
