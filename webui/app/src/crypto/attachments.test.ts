import { describe, expect, it } from 'vitest';
import { decryptAttachment, encryptAttachment } from './attachments';

describe('encrypted attachments', () => {
  const plain = new TextEncoder().encode('a file that the node must never read '.repeat(100));

  it('round-trips and hides the bytes', async () => {
    const { ciphertext, info } = await encryptAttachment(plain);
    expect(ciphertext.length).toBe(plain.length);
    expect(Buffer.from(ciphertext).includes(Buffer.from('never read'))).toBe(false);
    expect(info.key.alg).toBe('A256CTR');
    expect(info.v).toBe('v2');
    expect(await decryptAttachment(ciphertext, info)).toEqual(plain);
  });

  it('uses a fresh key and IV each time, with the counter half at zero', async () => {
    const a = await encryptAttachment(plain);
    const b = await encryptAttachment(plain);
    expect(a.info.key.k).not.toBe(b.info.key.k);
    expect(a.info.iv).not.toBe(b.info.iv);
    const iv = Buffer.from(a.info.iv, 'base64');
    expect(iv.subarray(8)).toEqual(Buffer.alloc(8));
  });

  it('refuses bytes that do not match the hash', async () => {
    const { ciphertext, info } = await encryptAttachment(plain);
    const bad = ciphertext.slice();
    bad[3] ^= 1;
    await expect(decryptAttachment(bad, info)).rejects.toThrow(/hash/);
    await expect(decryptAttachment(ciphertext, { ...info, hashes: { sha256: '' } })).rejects.toThrow(/no SHA-256/);
    await expect(decryptAttachment(ciphertext, { ...info, key: { ...info.key, alg: 'A128CTR' as 'A256CTR' } })).rejects.toThrow(/unsupported/);
  });

  it('interoperates with the Matrix implementation (matrix-sdk-crypto Attachment) both ways', async () => {
    const w = await import('@matrix-org/matrix-sdk-crypto-wasm');
    await w.initAsync();
    // Ours -> theirs.
    const { ciphertext, info } = await encryptAttachment(plain);
    const theirs = w.Attachment.decrypt(new w.EncryptedAttachment(ciphertext, JSON.stringify(info)));
    expect(Buffer.from(theirs)).toEqual(Buffer.from(plain));
    // Theirs -> ours.
    const enc = w.Attachment.encrypt(plain.slice());
    const theirInfo = JSON.parse(enc.mediaEncryptionInfo!);
    expect(await decryptAttachment(enc.encryptedData, { ...theirInfo, url: '' })).toEqual(plain);
  });
});
