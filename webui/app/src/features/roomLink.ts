// Room links: what "Copy link" puts on the clipboard, and what the join
// field accepts back (a link or a bare room ID).

/** roomLink is the address of a room in this UI. */
export function roomLink(id: string, origin: string): string {
  return `${origin}/r/${encodeURIComponent(id)}`;
}

/** roomIdFrom reads a room ID from a pasted link (…/r/<id>) or a bare ID; '' when there is none. */
export function roomIdFrom(input: string): string {
  const s = input.trim();
  if (!s) return '';
  const at = s.indexOf('/r/');
  if (at < 0) return /^[A-Za-z0-9_.~-]+$/.test(s) ? s : '';
  let rest = s.slice(at + 3);
  rest = rest.split(/[?#/]/)[0];
  try {
    return decodeURIComponent(rest);
  } catch {
    return '';
  }
}
