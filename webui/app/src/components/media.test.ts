import { describe, expect, it } from 'vitest';
import { attachmentSummary, fileLabel, fitBox, formatBytes, kindOf, mediaUrl, safeBlobType, thumbSide, thumbUrl } from './media';
import { parseError, uploadPath } from '../api/upload';
import { describeError } from '../api/errors';
import { applyDecrypted, keepPlain, type ChatMessage, type MessagesState, emptyTimeline } from '../store/messages';
import type { FileRef } from '../crypto/content';

describe('media rules', () => {
  it('reserves an image box from its dimensions, never enlarging it', () => {
    expect(fitBox(4000, 3000)).toEqual({ width: 320, height: 240 });
    expect(fitBox(1000, 4000)).toEqual({ width: 60, height: 240 });
    expect(fitBox(100, 50)).toEqual({ width: 100, height: 50 });
    expect(fitBox(undefined, 50)).toEqual({ width: 240, height: 240 });
    expect(fitBox(10000, 1)).toEqual({ width: 320, height: 1 });
  });

  it('asks for a thumbnail sized for the screen', () => {
    expect(thumbSide({ width: 320, height: 240 }, 1)).toBe(320);
    expect(thumbSide({ width: 320, height: 240 }, 2)).toBe(640);
    expect(thumbSide({ width: 10, height: 10 }, 1)).toBe(32);
    expect(thumbSide({ width: 320, height: 240 }, 9)).toBe(960);
  });

  it('builds media URLs with escaped parts', () => {
    expect(mediaUrl('abc_-')).toBe('/api/v1/media/abc_-');
    expect(mediaUrl('id', 'a b&c.pdf')).toBe('/api/v1/media/id?name=a%20b%26c.pdf');
    expect(thumbUrl('id', 64, 64)).toBe('/api/v1/media/id/thumbnail?w=64&h=64');
    expect(uploadPath('x?y.png')).toBe('/api/v1/media?name=x%3Fy.png');
    expect(uploadPath()).toBe('/api/v1/media');
  });

  it('reads sizes the way people do', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MB');
    expect(formatBytes(-1)).toBe('');
  });

  it('shows inline only images that run nothing, and players for audio and video', () => {
    expect(kindOf('image/png')).toBe('image');
    expect(kindOf('IMAGE/JPEG; x=y')).toBe('image');
    expect(kindOf('image/svg+xml')).toBe('file');
    expect(kindOf('video/mp4')).toBe('video');
    expect(kindOf('audio/ogg')).toBe('audio');
    expect(kindOf('text/html')).toBe('file');
    expect(kindOf(undefined)).toBe('file');
    expect(fileLabel({ type: 'image/png' })).toBe('Image');
    expect(fileLabel({ type: 'text/plain', name: 'notes.txt' })).toBe('notes.txt');
    expect(attachmentSummary([{ type: 'image/png', name: 'cat.png' }])).toBe('📎 cat.png');
    expect(attachmentSummary([{ type: 'application/octet-stream' }])).toBe('📎 File');
    expect(attachmentSummary([{ type: 'image/png' }, { type: 'video/mp4' }])).toBe('📎 2 files');
  });

  it('never gives a decrypted file a type the page could run (a blob: URL has our origin)', () => {
    expect(safeBlobType('text/html')).toBe('application/octet-stream');
    expect(safeBlobType('image/svg+xml')).toBe('application/octet-stream');
    expect(safeBlobType('application/javascript')).toBe('application/octet-stream');
    expect(safeBlobType('image/png')).toBe('image/png');
    expect(safeBlobType('video/webm')).toBe('video/webm');
  });
});

describe('upload errors', () => {
  it('keeps the contract code and says in a sentence what happened', () => {
    const big = parseError(413, '{"error":{"code":"too_large","message":"upload over 52428800 bytes"}}', null);
    expect(big.code).toBe('too_large');
    expect(describeError(big, 'upload')).toBe('This file is larger than this node accepts.');
    const quota = parseError(413, '{"error":{"code":"quota_exceeded","message":"1 GiB used"}}', null);
    expect(describeError(quota, 'upload')).toMatch(/storage on this node is full/);
    const busy = parseError(429, '{"error":{"code":"rate_limited","message":"x"}}', '3');
    expect(busy.retryAfter).toBe(3);
    expect(describeError(busy, 'upload')).toMatch(/too many files at once.*try again in 3 s/);
    const proxy = parseError(502, '<html>bad gateway</html>', null);
    expect(proxy.code).toBe('internal');
  });
});

describe('decrypted files in the store', () => {
  const file: FileRef = {
    media: { id: 'm1', type: 'image/png', size: 10, name: 'a.png', width: 4, height: 3 },
    file: { url: 'm1', key: { kty: 'oct', key_ops: ['decrypt'], alg: 'A256CTR', k: 'k', ext: true }, iv: 'iv', hashes: { sha256: 'h' }, v: 'v2' },
  };
  const enc = { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'CT', session_id: 's' };
  const base: ChatMessage = { id: 'x', room: 'r', sender: 'a@n', body: '', ts: 1, encrypted: enc, attachments: [{ id: 'm1', type: 'application/octet-stream', size: 42 }] };

  it('records the files with the plaintext, and keeps them when the node sends the message again', () => {
    const s: MessagesState = { rooms: { r: { ...emptyTimeline(), byId: { x: base }, main: ['x'] } } };
    const after = applyDecrypted(s, 'r', 'x', 'CT', '', { ok: true }, [file]);
    const m = after.rooms.r.byId.x;
    expect(m.files).toEqual([file]);
    // An ack or a reaction update brings the node's copy, without files.
    const again = keepPlain(m, { ...base });
    expect(again.files).toEqual([file]);
    // A new ciphertext (an edit) is decrypted again, but shows the old files meanwhile.
    expect(keepPlain(m, { ...base, encrypted: { ...enc, ciphertext: 'CT2' } }).e2ee).toBeUndefined();
    // Another ciphertext's result is not applied.
    expect(applyDecrypted(after, 'r', 'x', 'OTHER', 'hi', { ok: true })).toBe(after);
  });
});
