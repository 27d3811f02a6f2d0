// utd.ts explains why a message cannot be read ("unable to decrypt"), so
// that the UI never shows a bare error: the key may still be on its way
// (the message then decrypts itself when it arrives), or the message was
// sent before the user joined or before this device signed in, or the
// sender withheld the key (an unverified device is excluded), or the
// content was tampered with. The reasons are counted by the tests.

/** Why is the stable name of a reason; the tests count messages by it. */
export type Why =
  | 'waiting' // the key has not arrived yet; decrypts itself when it does
  | 'before-join' // sent before the user joined the room
  | 'before-device' // sent before this device signed in: restore the key backup
  | 'unverified-device' // the sender excludes devices that are not verified
  | 'withheld' // the sender chose not to share the key with this device
  | 'no-session' // the sender's device could not set up a channel to this one
  | 'tampered' // the content or its relations do not match
  | 'failed'; // anything else (a corrupted or replayed message)

export interface Unreadable {
  why: Why;
  /** text is the sentence the UI shows. */
  text: string;
  /** retry is true when the message may become readable by itself. */
  retry: boolean;
}

const TEXT: Record<Why, string> = {
  waiting: 'Waiting for the key to this message. It will show as soon as the key arrives.',
  'before-join': 'Sent before you joined this room: its key was not shared with you.',
  'before-device':
    'Sent before this device signed in. Restore your key backup with your recovery key to read it.',
  'unverified-device': 'The sender does not share keys with unverified devices. Verify this device to read new messages.',
  withheld: 'The sender withheld the key to this message from this device.',
  'no-session': "The sender's device could not set up a secure channel to this device.",
  tampered: 'This message was changed after it was encrypted, so it is not shown.',
  failed: 'This message could not be decrypted.',
};

/** The DecryptionErrorCode values of the wasm package that explain() reads. */
export const Code = { MissingRoomKey: 0, UnknownMessageIndex: 1 } as const;

export interface ExplainInput {
  /** code is the MegolmDecryptionError code, or undefined for a non-Megolm failure. */
  code?: number;
  withheldCode?: string;
  /** ts is when the message was sent. */
  ts: number;
  /** joinedAt is when the user joined the room, as far as this device knows. */
  joinedAt?: number;
  /** deviceSince is when this device was first signed in. */
  deviceSince?: number;
}

/** explain turns a decryption failure into a reason. */
export function explain(e: ExplainInput): Unreadable {
  const w = (why: Why): Unreadable => ({ why, text: TEXT[why], retry: why === 'waiting' });
  switch (e.withheldCode) {
    case 'm.unverified':
      return w('unverified-device');
    case 'm.blacklisted':
    case 'm.unauthorised':
    case 'm.unavailable':
      return w('withheld');
    case 'm.no_olm':
      return w('no-session');
  }
  if (e.code === Code.MissingRoomKey || e.code === Code.UnknownMessageIndex) {
    if (e.joinedAt !== undefined && e.ts < e.joinedAt) return w('before-join');
    if (e.deviceSince !== undefined && e.ts < e.deviceSince) return w('before-device');
    // An unknown index means the key arrived from a later point than this
    // message: waiting will not help.
    return e.code === Code.MissingRoomKey ? w('waiting') : w('failed');
  }
  return w('failed');
}

export function tampered(detail: string): Unreadable {
  return { why: 'tampered', text: `${TEXT.tampered} (${detail})`, retry: false };
}
