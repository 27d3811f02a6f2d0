import { hue, initials } from './format';

export function Avatar({ id, name, size = 'md', presence }: { id: string; name: string; size?: 'sm' | 'md'; presence?: 'online' | 'offline' }) {
  const dim = size === 'sm' ? 'w-7 h-7 text-xs' : 'w-9 h-9 text-sm';
  return (
    <span className="relative inline-flex shrink-0" aria-hidden="true">
      <span
        className={`${dim} rounded-full inline-flex items-center justify-center font-semibold text-white select-none`}
        // Dark enough for white initials at any hue (WCAG AA contrast).
        style={{ backgroundColor: `hsl(${hue(id)} 60% 28%)` }}
      >
        {initials(name)}
      </span>
      {presence && <PresenceDot presence={presence} className="absolute -bottom-0.5 -right-0.5" />}
    </span>
  );
}

export function PresenceDot({ presence, className = '' }: { presence?: 'online' | 'offline'; className?: string }) {
  const on = presence === 'online';
  return (
    <span
      className={`inline-block w-2.5 h-2.5 rounded-full ring-2 ring-base-100 ${on ? 'bg-success' : 'bg-base-content/30'} ${className}`}
      title={on ? 'Online' : 'Offline'}
      data-presence={presence ?? 'offline'}
    />
  );
}
