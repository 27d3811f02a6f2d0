// What a message of an encrypted room shows when its text cannot be shown
// (yet), and the warning under a message whose sender's device is not
// vouched for by its owner.
import type { ChatMessage } from '../../store';

/** unreadable reports whether the message's text is not available for display. */
export function unreadable(m: ChatMessage): boolean {
  return !!m.encrypted && !m.deleted && !m.status && !m.e2ee?.ok && !m.body;
}

export function EncryptedNotice({ m }: { m: ChatMessage }) {
  const e = m.e2ee;
  return (
    <p className="italic opacity-70 text-sm" role="note" data-e2ee={e?.why ?? 'decrypting'}>
      <span aria-hidden="true">🔒 </span>
      {e ? e.text : 'Decrypting…'}
    </p>
  );
}

const SHIELD: Record<string, string> = {
  'unsigned-device': 'Sent from a device its owner has not verified. It may not be theirs.',
  'unknown-device': 'Sent from an unknown or deleted device.',
  'identity-changed': "The sender's identity changed since you verified them.",
  unverified: 'You have not verified this user.',
  'not-authenticated': 'The authenticity of this message cannot be guaranteed on this device.',
};

export function ShieldNote({ m }: { m: ChatMessage }) {
  const s = m.e2ee?.ok ? m.e2ee.shield : undefined;
  // An unverified user is the normal case and would mark every message;
  // only warnings about the device are shown.
  if (!s || s === 'unverified') return null;
  const loud = s === 'unsigned-device' || s === 'identity-changed';
  return (
    <p className={`text-xs ${loud ? 'text-error font-semibold' : 'opacity-70'}`} role="note" data-shield={s}>
      {loud ? '⚠ ' : ''}
      {SHIELD[s] ?? m.e2ee?.shieldText}
    </p>
  );
}
