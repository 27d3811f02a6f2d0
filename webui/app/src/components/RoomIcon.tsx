/** RoomIcon marks a room's kind: a lock for private and encrypted rooms, # for public ones. */
export function RoomIcon({ visibility, encrypted, className = '' }: { visibility: 'public' | 'private'; encrypted?: boolean; className?: string }) {
  if (visibility === 'private' || encrypted) {
    const label = encrypted ? 'Encrypted room' : 'Private room';
    return (
      <svg viewBox="0 0 16 16" className={`inline-block w-4 h-4 ${className}`} role="img" aria-label={label} data-room-icon="lock">
        <title>{label}</title>
        <path
          fill="currentColor"
          d="M8 1a3.5 3.5 0 0 0-3.5 3.5V7H4a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1V8a1 1 0 0 0-1-1h-.5V4.5A3.5 3.5 0 0 0 8 1Zm-2 6V4.5a2 2 0 1 1 4 0V7H6Z"
        />
      </svg>
    );
  }
  return (
    <span className={`inline-block font-bold leading-none ${className}`} role="img" aria-label="Public room" data-room-icon="hash">
      #
    </span>
  );
}
