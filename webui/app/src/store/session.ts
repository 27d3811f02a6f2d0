// The session slice: who is logged in, as far as the UI is concerned. Tokens
// stay in api/rest.ts and never enter the store.
import type { User } from '../api/types';

export interface SessionState {
  status: 'loading' | 'anon' | 'authed';
  user: User | null;
}

export const initialSession: SessionState = { status: 'loading', user: null };

export function signedIn(_: SessionState, user: User): SessionState {
  return { status: 'authed', user };
}

export function signedOut(): SessionState {
  return { status: 'anon', user: null };
}
