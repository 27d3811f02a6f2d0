// Selectors for the session and the current user.
import { useShallow, useStore } from '../store';

export function useSession() {
  return useStore(useShallow((s) => ({ status: s.session.status, user: s.session.user })));
}

export function useMe(): string | undefined {
  return useStore((s) => s.session.user?.id);
}
