import { memo } from 'react';
import { linkify } from './linkify';

/** RichText renders a message body as text, with http(s) URLs as links. */
export const RichText = memo(function RichText({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((p, i) =>
        p.kind === 'link' ? (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer" className="link link-primary break-all">
            {p.text}
          </a>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
});
