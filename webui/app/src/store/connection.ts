// The connection slice: the WebSocket's state as the user should see it.
export type ConnStatus = 'idle' | 'connecting' | 'online' | 'offline';

export interface ConnectionState {
  status: ConnStatus;
  /** consecutive failed attempts since the last ready frame. */
  attempt: number;
  /** when the next attempt starts (ms since epoch), while offline. */
  retryAt: number | null;
  /** a ready frame arrived at least once since login. */
  everReady: boolean;
  lastError?: string;
}

export const initialConnection: ConnectionState = { status: 'idle', attempt: 0, retryAt: null, everReady: false };

export function connecting(s: ConnectionState): ConnectionState {
  return { ...s, status: 'connecting', retryAt: null };
}

export function ready(s: ConnectionState): ConnectionState {
  return { ...s, status: 'online', attempt: 0, retryAt: null, everReady: true, lastError: undefined };
}

export function dropped(s: ConnectionState, retryAt: number | null, error?: string): ConnectionState {
  return { ...s, status: 'offline', attempt: s.attempt + 1, retryAt, lastError: error };
}
