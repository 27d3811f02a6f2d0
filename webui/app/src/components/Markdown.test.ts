import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { createElement, Fragment } from 'react';
import { renderMarkdown } from './Markdown';

const html = (text: string) => renderToStaticMarkup(createElement(Fragment, null, renderMarkdown(text)));

describe('renderMarkdown', () => {
  it('formats what chat needs', () => {
    expect(html('**bold** _it_ ~~gone~~ `code`')).toBe('<p><strong>bold</strong> <em>it</em> <s>gone</s> <code>code</code></p>');
    expect(html('```\nlet x = 1;\n```')).toBe('<pre><code>let x = 1;</code></pre>');
    expect(html('> quoted')).toBe('<blockquote><p>quoted</p></blockquote>');
    expect(html('- a\n- b')).toBe('<ul><li>a</li><li>b</li></ul>');
    expect(html('3. c\n4. d')).toBe('<ol start="3"><li>c</li><li>d</li></ol>');
    expect(html('line one\nline two')).toBe('<p>line one<br/>line two</p>');
  });

  it('keeps raw HTML as characters', () => {
    expect(html('<img src=x onerror=alert(1)>')).toBe('<p>&lt;img src=x onerror=alert(1)&gt;</p>');
    expect(html('<script>alert(1)</script>\n\n<b>x</b>')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>&lt;b&gt;x&lt;/b&gt;</p>');
    expect(html('&lt;b&gt;')).toBe('<p>&lt;b&gt;</p>');
  });

  it('links only http(s) and mailto, opening safely', () => {
    expect(html('[site](https://example.org/a)')).toBe(
      '<p><a href="https://example.org/a" target="_blank" rel="noopener noreferrer" class="link link-primary break-all">site</a></p>',
    );
    expect(html('see https://example.org')).toContain('href="https://example.org"');
    for (const bad of ['[x](javascript:alert(1))', '[x](data:text/html,hi)', '[x](vbscript:y)', 'example.org']) {
      expect(html(bad)).not.toMatch(/<a /);
    }
    // An image is a link to it, never a request to another host.
    expect(html('![img](https://example.org/a.png)')).not.toContain('<img');
  });

  it('leaves headings and rules as text', () => {
    expect(html('# not a heading')).toBe('<p># not a heading</p>');
    expect(html('a\n\n---')).toBe('<p>a</p><p>---</p>');
  });
});
