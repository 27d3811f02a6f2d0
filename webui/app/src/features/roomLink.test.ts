import { describe, expect, it } from 'vitest';
import { roomIdFrom, roomLink } from './roomLink';

describe('room links', () => {
  it('round-trips an ID through a link', () => {
    const link = roomLink('abc-DEF_123', 'http://127.0.0.1:8080');
    expect(link).toBe('http://127.0.0.1:8080/r/abc-DEF_123');
    expect(roomIdFrom(link)).toBe('abc-DEF_123');
    expect(roomIdFrom(`  ${link}?thread=x#y `)).toBe('abc-DEF_123');
    expect(roomIdFrom('/r/abc')).toBe('abc');
  });

  it('takes a bare ID and refuses what is neither', () => {
    expect(roomIdFrom('abc123')).toBe('abc123');
    expect(roomIdFrom('')).toBe('');
    expect(roomIdFrom('not a room')).toBe('');
    expect(roomIdFrom('https://example.org/r/%E0%A4%A')).toBe('');
  });
});
