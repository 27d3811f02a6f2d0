// The crypto slice: what the UI shows of end-to-end encryption (src/crypto
// does the work and reports here): whether the engine is loaded, the
// verification in progress, and a counter that tells device lists to
// refresh. Decrypted messages live in the messages slice (applyDecrypted).

export interface VerificationView {
  flowId: string;
  otherUser: string;
  otherDevice?: string;
  /** incoming: the other side asked. */
  incoming: boolean;
  phase: 'requested' | 'ready' | 'started' | 'emoji' | 'confirmed' | 'done' | 'cancelled';
  emoji?: { symbol: string; description: string }[];
}

export interface CryptoState {
  status: 'off' | 'loading' | 'ready' | 'error';
  error?: string;
  verification: VerificationView | null;
  /** devicesTick grows when someone's devices or identity changed. */
  devicesTick: number;
}

export const initialCrypto: CryptoState = { status: 'off', verification: null, devicesTick: 0 };

export function setStatus(s: CryptoState, status: CryptoState['status'], error?: string): CryptoState {
  return { ...s, status, error };
}

/** setVerification shows a verification; a finished one stays until dismissed. */
export function setVerification(s: CryptoState, v: VerificationView | null): CryptoState {
  return { ...s, verification: v };
}

export function bumpDevices(s: CryptoState): CryptoState {
  return { ...s, devicesTick: s.devicesTick + 1 };
}
