// Picker is the full emoji picker (emoji-picker-element: a small, well-kept,
// accessible web component with search, categories, skin tones and recent
// emoji). It is lazily loaded with its data; onPick receives an emoji,
// never free text.
import { useEffect, useRef } from 'react';
import { Picker as EmojiPickerElement } from 'emoji-picker-element';
import { EMOJI_DATA_URL } from './data';

export default function Picker({ onPick, dark, label }: { onPick(emoji: string): void; dark: boolean; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  useEffect(() => {
    const el = new EmojiPickerElement({ dataSource: EMOJI_DATA_URL, locale: 'en' });
    el.classList.add(dark ? 'dark' : 'light');
    el.setAttribute('aria-label', label);
    el.style.width = '100%';
    el.addEventListener('emoji-click', (e) => {
      const u = e.detail.unicode;
      if (u) pick.current(u);
    });
    host.current?.appendChild(el);
    // Put the caret in the search box, as the dialog opens on it.
    const focus = () => el.shadowRoot?.querySelector<HTMLInputElement>('input[type=search]')?.focus();
    const t = setTimeout(focus, 50);
    return () => {
      clearTimeout(t);
      el.remove();
    };
  }, [dark, label]);
  return <div ref={host} className="w-full" data-emoji-picker />;
}
