import { memo } from 'react';
import type { Reaction } from '../api/types';

/** QUICK_REACTIONS are offered first; the full picker has every other emoji. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/**
 * Reactions shows a message's reactions as toggle chips: the emoji, how many,
 * and (for the pointer and screen readers) who. It is the one place that
 * renders reactions. The node sends a count, a few of the users and whether
 * I am one of them (`me`), not every user: a popular reaction names its
 * first few and says how many more.
 */
export const Reactions = memo(function Reactions({
  reactions,
  nameOf,
  disabled,
  onToggle,
  onAdd,
}: {
  reactions: Reaction[] | undefined;
  nameOf(id: string): string;
  disabled?: boolean;
  onToggle(emoji: string): void;
  /** opens the full picker; absent where reacting is not possible. */
  onAdd?(): void;
}) {
  const list = (reactions ?? []).filter((r) => r.count > 0);
  if (list.length === 0) return null;
  return (
    <div className="flex flex-wrap items-center gap-1 mt-1" data-reactions>
      {list.map(({ emoji, count, users, me }) => {
        const mine = !!me;
        const more = count - users.length;
        const who = users.map(nameOf).join(', ') + (more > 0 ? ` and ${more} more` : '');
        return (
          <button
            key={emoji}
            type="button"
            className={`btn btn-xs pointer-coarse:min-h-8 ${mine ? 'btn-primary btn-outline' : 'btn-ghost border-base-300'}`}
            aria-pressed={mine}
            title={who}
            aria-label={`${emoji} ${count}, by ${who}`}
            onClick={() => onToggle(emoji)}
            disabled={disabled}
          >
            {emoji} {count}
          </button>
        );
      })}
      {onAdd && !disabled && (
        <button type="button" className="btn btn-xs btn-ghost pointer-coarse:min-h-8" aria-label="Add another reaction" onClick={onAdd}>
          ☺+
        </button>
      )}
    </div>
  );
});
