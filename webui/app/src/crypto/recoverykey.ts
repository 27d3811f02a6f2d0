// recoverykey.ts writes and reads the recovery key that unlocks the key
// backup, in the Matrix spec's format ("Key representation" of secret
// storage): 0x8B 0x01, the 32-byte key, a parity byte (XOR of the bytes
// before it), base58 (Bitcoin alphabet), in groups of four. A passphrase
// derives the same 32 bytes with PBKDF2-SHA-512 (WebCrypto), the salt and
// iteration count travelling in the backup's auth_data as Matrix's
// private_key_salt and private_key_iterations. Base58 is written here
// because it is 20 lines and the app needs nothing else of a codec package.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const PREFIX = [0x8b, 0x01];

/** PBKDF2_ITERATIONS is Element's default for new passphrases. */
export const PBKDF2_ITERATIONS = 500_000;

function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let s = '';
  while (n > 0n) {
    s = ALPHABET[Number(n % 58n)] + s;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    s = '1' + s;
  }
  return s;
}

function unbase58(s: string): Uint8Array {
  let n = 0n;
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`the recovery key has a character that cannot be in one: ${JSON.stringify(ch)}`);
    n = n * 58n + BigInt(v);
  }
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const ch of s) {
    if (ch !== '1') break;
    out.unshift(0);
  }
  return new Uint8Array(out);
}

/** encodeRecoveryKey turns 32 key bytes into the text shown to the user. */
export function encodeRecoveryKey(key: Uint8Array): string {
  if (key.length !== 32) throw new Error('a recovery key holds 32 bytes');
  const buf = new Uint8Array(PREFIX.length + key.length + 1);
  buf.set(PREFIX, 0);
  buf.set(key, PREFIX.length);
  let parity = 0;
  for (let i = 0; i < buf.length - 1; i++) parity ^= buf[i];
  buf[buf.length - 1] = parity;
  return base58(buf).match(/.{1,4}/g)!.join(' ');
}

/** decodeRecoveryKey reads a recovery key as typed (spaces and line breaks allowed); it throws with a reason. */
export function decodeRecoveryKey(text: string): Uint8Array {
  const buf = unbase58(text.replace(/\s+/g, ''));
  if (buf.length !== PREFIX.length + 32 + 1) throw new Error('that is not a recovery key (wrong length)');
  if (buf[0] !== PREFIX[0] || buf[1] !== PREFIX[1]) throw new Error('that is not a recovery key (wrong prefix)');
  let parity = 0;
  for (const b of buf) parity ^= b;
  if (parity !== 0) throw new Error('the recovery key has a typo (its check byte does not match)');
  return buf.slice(PREFIX.length, PREFIX.length + 32);
}

/** deriveKey turns a passphrase into 32 key bytes (PBKDF2-SHA-512). */
export async function deriveKey(passphrase: string, salt: string, iterations: number): Promise<Uint8Array> {
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-512', salt: new TextEncoder().encode(salt), iterations },
    base,
    256,
  );
  return new Uint8Array(bits);
}

/** newSalt is a random salt for a passphrase, as Matrix clients make them. */
export function newSalt(): string {
  const b = new Uint8Array(24);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => ALPHABET[x % 58]).join('');
}

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/=+$/, '');
}

export function fromBase64(s: string): Uint8Array {
  const norm = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(norm + '='.repeat((4 - (norm.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
