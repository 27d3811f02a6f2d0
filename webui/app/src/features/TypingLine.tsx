import { useEffect } from 'react';
import { ensureUsers } from '../api/app';
import { displayName, useShallow, useStore } from '../store';

/** TypingLine says who else is typing in a room. Expired entries are pruned by app.ts. */
export function TypingLine({ room }: { room: string }) {
  const ids = useStore(
    useShallow((s) => {
      const me = s.session.user?.id;
      return Object.keys(s.typing.rooms[room] ?? {})
        .filter((u) => u !== me)
        .sort();
    }),
  );
  const names = useStore(useShallow((s) => ids.map((u) => displayName(s.presence, u))));
  useEffect(() => ensureUsers(ids), [ids]);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  return (
    <div className="h-5 px-4 text-xs opacity-70 italic" aria-live="polite" data-typing={names.length}>
      {text}
    </div>
  );
}
