// The tab's title and favicon say where to look while the tab is in the
// background: the unread total in the title, and on the icon a red badge
// with the number of mentions (or a small dot when there are only unread
// messages).
import type { Room } from '../api/types';

const FLAME =
  '<rect width="32" height="32" rx="7" fill="#e8590c"/><path d="M16 6c3 5 8 8 8 14a8 8 0 0 1-16 0c0-4 2-6 4-8 0 3 1 5 3 5-1-4-1-7 1-11z" fill="#fff"/>';

export interface Totals {
  unread: number;
  mentions: number;
}

/** totals sums the node's counts over the rooms I am in. */
export function totals(rooms: Iterable<Room>): Totals {
  let unread = 0;
  let mentions = 0;
  for (const r of rooms) {
    unread += r.unread ?? 0;
    mentions += r.mentions ?? 0;
  }
  return { unread, mentions };
}

/** title is the document title for the totals: "(5) Hearth", "(5, @2) Hearth". */
export function title({ unread, mentions }: Totals): string {
  if (mentions > 0) return `(${unread}, @${mentions}) Hearth`;
  return unread > 0 ? `(${unread}) Hearth` : 'Hearth';
}

/** faviconSVG is the icon for the totals: the flame, with a badge or a dot. */
export function faviconSVG({ unread, mentions }: Totals): string {
  let badge = '';
  if (mentions > 0) {
    const n = mentions > 99 ? '99+' : String(mentions);
    const size = n.length > 2 ? 11 : 14;
    badge = `<circle cx="23" cy="9" r="9" fill="#e03131" stroke="#fff" stroke-width="1.5"/><text x="23" y="9" dy=".35em" text-anchor="middle" font-family="sans-serif" font-weight="bold" font-size="${size}" fill="#fff">${n}</text>`;
  } else if (unread > 0) {
    badge = '<circle cx="26" cy="6" r="5.5" fill="#1c7ed6" stroke="#fff" stroke-width="1.5"/>';
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${FLAME}${badge}</svg>`;
}

/** showAttention puts the totals in the tab's title and icon. */
export function showAttention(doc: Document, t: Totals): void {
  doc.title = title(t);
  let link = doc.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = doc.createElement('link');
    link.rel = 'icon';
    doc.head.appendChild(link);
  }
  link.type = 'image/svg+xml';
  link.href = t.unread || t.mentions ? `data:image/svg+xml,${encodeURIComponent(faviconSVG(t))}` : '/favicon.svg';
}
