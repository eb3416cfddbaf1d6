import { useSyncExternalStore } from 'react';
import { loadSession, onSessionChange, type Session } from '../../../shared/api/session';

let cached: Session | null = loadSession();
onSessionChange((s) => {
  cached = s;
});

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => onSessionChange(() => l()),
    () => cached,
  );
}
