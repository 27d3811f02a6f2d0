// attachments.ts encrypts files before upload with the Matrix encrypted-
// attachment scheme (client-server spec, "Sending encrypted attachments"):
// AES-CTR with a random 256-bit key and a random 64-bit IV prefix (the
// counter half starts at zero), SHA-256 of the ciphertext. The key, the IV
// and the hash travel inside the Megolm-encrypted message content, so the
// node stores and serves ciphertext whose key it never sees, and a node
// that swaps the bytes is caught by the hash. WebCrypto does the work;
// the wasm OlmMachine is not needed (and not loaded) for files.
import { fromBase64, toBase64 } from './recoverykey';

/** EncryptedFile is Matrix's EncryptedFile object; url is the Hearth media ID. */
export interface EncryptedFile {
  url: string;
  key: { kty: 'oct'; key_ops: string[]; alg: 'A256CTR'; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: 'v2';
}

const subtle = () => globalThis.crypto.subtle;

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_');
}

/** encryptAttachment encrypts bytes; upload the ciphertext, then set info.url to its media ID. */
export async function encryptAttachment(plain: Uint8Array): Promise<{ ciphertext: Uint8Array; info: EncryptedFile }> {
  const rawKey = new Uint8Array(32);
  globalThis.crypto.getRandomValues(rawKey);
  const iv = new Uint8Array(16);
  // The high 8 bytes are random; the low 8 are the block counter, which
  // starts at zero so that files up to 2^64 blocks never wrap it.
  globalThis.crypto.getRandomValues(iv.subarray(0, 8));
  const key = await subtle().importKey('raw', rawKey, { name: 'AES-CTR' }, true, ['encrypt', 'decrypt']);
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain as BufferSource));
  const hash = new Uint8Array(await subtle().digest('SHA-256', ct));
  return {
    ciphertext: ct,
    info: {
      url: '',
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: b64url(rawKey), ext: true },
      iv: toBase64(iv),
      hashes: { sha256: toBase64(hash) },
      v: 'v2',
    },
  };
}

/** decryptAttachment checks the ciphertext's hash and decrypts it; it throws when anything does not match. */
export async function decryptAttachment(ciphertext: Uint8Array, info: EncryptedFile): Promise<Uint8Array> {
  if (info?.key?.alg !== 'A256CTR' || info.key.kty !== 'oct') throw new Error('unsupported attachment encryption');
  if (!info.hashes?.sha256) throw new Error('the attachment has no SHA-256 hash to check');
  const hash = new Uint8Array(await subtle().digest('SHA-256', ciphertext as BufferSource));
  if (toBase64(hash) !== info.hashes.sha256.replace(/=+$/, '')) {
    throw new Error('the file does not match its hash: it was changed after it was encrypted');
  }
  const iv = fromBase64(info.iv);
  const rawKey = fromBase64(info.key.k);
  if (iv.length !== 16 || rawKey.length !== 32) throw new Error('the attachment key or IV has the wrong length');
  const key = await subtle().importKey('raw', rawKey as BufferSource, { name: 'AES-CTR' }, false, ['decrypt']);
  // v1 files (Android's first clients) used the whole IV as counter; v2
  // keeps the counter in the low 64 bits. length 64 reads both the same
  // way until the low half would wrap.
  return new Uint8Array(await subtle().decrypt({ name: 'AES-CTR', counter: iv as BufferSource, length: 64 }, key, ciphertext as BufferSource));
}
