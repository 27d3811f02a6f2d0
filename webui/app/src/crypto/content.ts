// content.ts builds the plaintext that goes inside a Megolm message and
// checks it on the way out. Relations (reply, thread, the message an edit
// replaces) travel in Hearth's clear fields so that nodes can relate
// messages (API.md §7); they are repeated inside the ciphertext under
// REL_KEY, and a decrypted message whose inner relations differ from the
// clear ones is refused: a node could otherwise move a ciphertext under
// another message (make a reply look like an answer to something else,
// or an edit replace a different message of the same sender).
// m.relates_to is never used: the OlmMachine copies it into the clear
// content, and the node refuses unknown fields there.

import type { EncryptedFile } from './attachments';

export const EVENT_TYPE = 'm.room.message';
export const REL_KEY = 'io.hearth.rel';
export const FILES_KEY = 'io.hearth.files';

/** Relations is what a message points at, in Hearth message IDs. */
export interface Relations {
  replyTo?: string;
  thread?: string;
  /** edits names the message an edit replaces (absent for a new message). */
  edits?: string;
}

/** FileRef is an attachment inside an encrypted message: the node's Media and the key to its bytes. */
export interface FileRef {
  media: { id: string; type?: string; size?: number; name?: string; width?: number; height?: number };
  file: EncryptedFile;
}

/** Plain is the decrypted content of a message. */
export interface Plain {
  msgtype: 'm.text';
  body: string;
  [REL_KEY]: Relations;
  [FILES_KEY]?: FileRef[];
}

/** plainContent builds what is encrypted for a message or an edit. */
export function plainContent(body: string, rel: Relations, files?: FileRef[]): Plain {
  const r: Relations = {};
  if (rel.replyTo) r.replyTo = rel.replyTo;
  if (rel.thread) r.thread = rel.thread;
  if (rel.edits) r.edits = rel.edits;
  const c: Plain = { msgtype: 'm.text', body, [REL_KEY]: r };
  if (files?.length) c[FILES_KEY] = files;
  return c;
}

/** The clear fields of a Hearth message that the ciphertext must agree with. */
export interface ClearFields {
  id: string;
  replyTo?: string;
  thread?: string;
  editedAt?: number;
}

/**
 * checkPlain validates decrypted content against the message that carried
 * it; it returns the content or throws with the reason. An edited message
 * carries its newest edit's ciphertext, which must name the message as
 * the one it edits; an unedited one must not name any.
 */
export function checkPlain(raw: unknown, m: ClearFields): Plain {
  if (!raw || typeof raw !== 'object') throw new Error('the decrypted content is not an object');
  const c = raw as Record<string, unknown>;
  if (typeof c.body !== 'string') throw new Error('the decrypted content has no text body');
  const rel = (c[REL_KEY] ?? {}) as Relations;
  if (typeof rel !== 'object') throw new Error('the decrypted relations are malformed');
  if ((rel.replyTo ?? '') !== (m.replyTo ?? '')) throw new Error('the reply target was changed after encryption');
  if ((rel.thread ?? '') !== (m.thread ?? '')) throw new Error('the thread was changed after encryption');
  if (m.editedAt) {
    if (rel.edits !== m.id) throw new Error('this edit was made for another message');
  } else if (rel.edits) {
    throw new Error('an edit was presented as a new message');
  }
  const files = c[FILES_KEY];
  if (files !== undefined && !Array.isArray(files)) throw new Error('the decrypted attachments are malformed');
  return c as unknown as Plain;
}
