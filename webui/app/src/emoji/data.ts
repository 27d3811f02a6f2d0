// data.ts is the one place that knows where the emoji data lives: the
// GitHub-flavoured set of emoji-picker-element-data (the shortcodes people
// know from GitHub, Slack and Discord), served from this node's own assets
// (the CSP allows no CDN), fetched only when the picker or a :shortcode:
// is first used, then kept in IndexedDB by emoji-picker-element.
import Database from 'emoji-picker-element/database';
import dataUrl from 'emoji-picker-element-data/en/github/data.json?url';

export const EMOJI_DATA_URL = dataUrl;

let db: Database | null = null;

export function emojiDatabase(): Database {
  db ??= new Database({ dataSource: dataUrl, locale: 'en' });
  return db;
}

export interface Suggestion {
  emoji: string;
  shortcode: string;
  name: string;
}

/**
 * suggest lists emoji whose shortcode starts with prefix (then those whose
 * name or tags match), at most limit.
 */
export async function suggest(prefix: string, limit = 8): Promise<Suggestion[]> {
  const q = prefix.toLowerCase();
  const found = await emojiDatabase().getEmojiBySearchQuery(q);
  const out: Suggestion[] = [];
  const seen = new Set<string>();
  const add = (starts: boolean) => {
    for (const e of found) {
      if (!('unicode' in e) || seen.has(e.unicode)) continue;
      const code = e.shortcodes?.find((c) => c.startsWith(q)) ?? (starts ? undefined : e.shortcodes?.[0]);
      if (!code) continue;
      seen.add(e.unicode);
      out.push({ emoji: e.unicode, shortcode: code, name: e.annotation });
      if (out.length >= limit) return;
    }
  };
  add(true);
  if (out.length < limit) add(false);
  return out;
}

/** byShortcode returns the emoji of an exact shortcode, or null. */
export async function byShortcode(code: string): Promise<string | null> {
  const e = await emojiDatabase().getEmojiByShortcode(code.toLowerCase());
  return e && 'unicode' in e ? e.unicode : null;
}
