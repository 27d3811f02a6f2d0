import { describe, expect, it } from 'vitest';
import { linkify } from './linkify';

describe('linkify', () => {
  it('keeps markup as plain text', () => {
    expect(linkify('<img src=x onerror=alert(1)>')).toEqual([{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
  });

  it('links only http and https URLs', () => {
    expect(linkify('go to https://example.org/a?b=1 now')).toEqual([
      { kind: 'text', text: 'go to ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ' now' },
    ]);
    for (const bad of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:msgbox', 'file:///etc/passwd']) {
      expect(linkify(bad).every((p) => p.kind === 'text')).toBe(true);
    }
  });

  it('leaves trailing punctuation outside the link', () => {
    const parts = linkify('(see http://a.example/x).');
    expect(parts).toEqual([
      { kind: 'text', text: '(see ' },
      { kind: 'link', text: 'http://a.example/x', href: 'http://a.example/x' },
      { kind: 'text', text: ').' },
    ]);
  });

  it('does not let quotes or angle brackets into an href', () => {
    const parts = linkify('https://a.example/"onmouseover="x <b>');
    const link = parts.find((p) => p.kind === 'link');
    expect(link && link.kind === 'link' && link.href).toBe('https://a.example/');
  });
});
