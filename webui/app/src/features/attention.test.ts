import { describe, expect, it } from 'vitest';
import type { Room } from '../api/types';
import { faviconSVG, title, totals } from './attention';

const room = (unread?: number, mentions?: number): Room => ({
  id: 'r',
  name: 'r',
  kind: 'group',
  visibility: 'public',
  members: [],
  createdBy: 'a@n',
  createdAt: 1,
  unread,
  mentions,
});

describe('attention', () => {
  it('sums the counts and says them in the title', () => {
    const t = totals([room(3, 1), room(2), room()]);
    expect(t).toEqual({ unread: 5, mentions: 1 });
    expect(title(t)).toBe('(5, @1) Hearth');
    expect(title({ unread: 5, mentions: 0 })).toBe('(5) Hearth');
    expect(title({ unread: 0, mentions: 0 })).toBe('Hearth');
  });

  it('draws a numbered badge for mentions and a dot for unread only', () => {
    expect(faviconSVG({ unread: 4, mentions: 2 })).toContain('>2</text>');
    expect(faviconSVG({ unread: 400, mentions: 120 })).toContain('>99+</text>');
    const dot = faviconSVG({ unread: 4, mentions: 0 });
    expect(dot).toContain('<circle');
    expect(dot).not.toContain('<text');
    expect(faviconSVG({ unread: 0, mentions: 0 })).not.toContain('<circle');
  });
});
