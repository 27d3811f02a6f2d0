// media.ts holds the pure rules of showing files (API.md §6, docs/ui.md
// "Media"): their URLs, how big an inline image is drawn, how a size
// reads, and which types may be shown inline at all.
import type { Media } from '../api/types';

const BASE = '/api/v1/media/';

/** mediaUrl is the file itself; name only sets the download's file name. */
export function mediaUrl(id: string, name?: string): string {
  return BASE + encodeURIComponent(id) + (name ? `?name=${encodeURIComponent(name)}` : '');
}

/** thumbUrl is a preview no larger than w×h (the node picks one of its fixed sizes). */
export function thumbUrl(id: string, w: number, h: number): string {
  return `${BASE}${encodeURIComponent(id)}/thumbnail?w=${Math.round(w)}&h=${Math.round(h)}`;
}

/** The box an inline image is drawn in, at most (CSS px). */
export const INLINE_MAX = { width: 320, height: 240 };

/**
 * fitBox scales width×height down (never up) to fit max, keeping the
 * aspect ratio, so the timeline reserves the image's space before it
 * loads. Unknown dimensions get a square placeholder.
 */
export function fitBox(width: number | undefined, height: number | undefined, max = INLINE_MAX): { width: number; height: number } {
  if (!width || !height || width <= 0 || height <= 0) {
    const side = Math.min(max.width, max.height);
    return { width: side, height: side };
  }
  const scale = Math.min(1, max.width / width, max.height / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * thumbSide is the thumbnail size to ask for a box: the box in device
 * pixels, so a 2x screen gets a sharp preview.
 */
export function thumbSide(box: { width: number; height: number }, dpr = 1): number {
  return Math.max(32, Math.ceil(Math.max(box.width, box.height) * Math.min(3, Math.max(1, dpr))));
}

/** formatBytes reads a size the way people do: 1023 B, 1.5 KB, 12 MB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// Images a browser renders without running anything (the node serves the
// same set inline; SVG is a document that can hold script).
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);

export type Kind = 'image' | 'video' | 'audio' | 'file';

/** kindOf says how a file shows: an inline image, a player, or a download chip. */
export function kindOf(type: string | undefined): Kind {
  const t = (type ?? '').toLowerCase().split(';')[0].trim();
  if (INLINE_IMAGES.has(t)) return 'image';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('audio/')) return 'audio';
  return 'file';
}

/**
 * safeBlobType is the type given to a decrypted file's blob: URL. A blob
 * URL has the page's origin, so a sender who claims "text/html" must not
 * get a page that runs in ours: only types shown inline keep their type,
 * everything else is opaque bytes to download.
 */
export function safeBlobType(type: string | undefined): string {
  const k = kindOf(type);
  return k === 'file' ? 'application/octet-stream' : (type ?? '').toLowerCase().split(';')[0].trim();
}

/** label is how a file is named on screen. */
export function fileLabel(m: Pick<Media, 'name' | 'type'>): string {
  if (m.name) return m.name;
  const k = kindOf(m.type);
  return k === 'image' ? 'Image' : k === 'video' ? 'Video' : k === 'audio' ? 'Audio' : 'File';
}

/** attachmentSummary names a message's files for a one-line preview (the room list). */
export function attachmentSummary(list: Pick<Media, 'name' | 'type'>[]): string {
  if (list.length === 0) return '';
  if (list.length > 1) return `📎 ${list.length} files`;
  return `📎 ${fileLabel(list[0])}`;
}

/** imageDimensions reads an image file's size in the browser (for encrypted uploads, which the node cannot read). */
export async function imageDimensions(file: Blob): Promise<{ width: number; height: number } | null> {
  if (kindOf(file.type) !== 'image' || typeof createImageBitmap !== 'function') return null;
  try {
    const bmp = await createImageBitmap(file);
    const d = { width: bmp.width, height: bmp.height };
    bmp.close();
    return d;
  } catch {
    return null;
  }
}

/** MAX_ATTACHMENTS is the most files one message carries (API.md §6). */
export const MAX_ATTACHMENTS = 10;
