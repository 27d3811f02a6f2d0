import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { createElement } from 'react';
import { RoomIcon } from './RoomIcon';

const icon = (visibility: 'public' | 'private', encrypted?: boolean) =>
  renderToStaticMarkup(createElement(RoomIcon, { visibility, encrypted }));

describe('RoomIcon', () => {
  it('locks private and encrypted rooms and marks public ones with #', () => {
    expect(icon('public')).toContain('data-room-icon="hash"');
    expect(icon('public')).toContain('aria-label="Public room"');
    expect(icon('private')).toContain('aria-label="Private room"');
    expect(icon('private')).toContain('data-room-icon="lock"');
    expect(icon('public', true)).toContain('aria-label="Encrypted room"');
    expect(icon('public', true)).toContain('data-room-icon="lock"');
  });
});
