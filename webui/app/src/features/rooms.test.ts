import { describe, expect, it } from 'vitest';
import { previewText } from './rooms';

describe('previewText', () => {
  it('shows a formatted body as one plain line', () => {
    expect(previewText('**Welcome** to the _lobby_! Press `Ctrl+K`.\n- rooms\n- people')).toBe('Welcome to the lobby! Press Ctrl+K. rooms people');
    expect(previewText('> quoted\n\nanswer')).toBe('quoted answer');
    expect(previewText('```\ncode\n```')).toBe('code');
    expect(previewText('see [the docs](https://example.org)')).toBe('see the docs');
    expect(previewText('snake_case_name and 2*3*4')).toBe('snake_case_name and 2*3*4');
    expect(previewText('<b>kept</b>')).toBe('<b>kept</b>');
  });
});
