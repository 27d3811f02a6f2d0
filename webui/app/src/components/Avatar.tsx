import { useState } from 'react';
import { mediaRetry } from '../api/app';
import { useStore } from '../store';
import { hue, initials } from './format';
import { thumbUrl } from './media';

/**
 * Avatar shows a user's picture (the thumbnail endpoint at 64×64, API.md
 * §6) when they set one, else their initials on a colour of their own.
 */
export function Avatar({ id, name, size = 'md', presence }: { id: string; name: string; size?: 'sm' | 'md'; presence?: 'online' | 'offline' }) {
  const dim = size === 'sm' ? 'w-7 h-7 text-xs' : 'w-9 h-9 text-sm';
  const avatar = useStore((s) => s.presence.users[id]?.avatar);
  // The picture that failed to load (then the initials show), after one
  // more try with a renewed media cookie.
  const [broken, setBroken] = useState<string | null>(null);
  const [retried, setRetried] = useState<string | null>(null);
  if (avatar && broken !== avatar) {
    const again = retried === avatar;
    return (
      <span className="relative inline-flex shrink-0" aria-hidden="true">
        <img
          key={again ? 'again' : 'first'}
          src={thumbUrl(avatar, 64, 64) + (again ? '&retry=1' : '')}
          alt=""
          width={64}
          height={64}
          className={`${dim} rounded-full object-cover bg-base-300`}
          data-avatar={avatar}
          onError={() => (again ? setBroken(avatar) : void mediaRetry().then(() => setRetried(avatar)))}
        />
        {presence && <PresenceDot presence={presence} className="absolute -bottom-0.5 -right-0.5" />}
      </span>
    );
  }
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
