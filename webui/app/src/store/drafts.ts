// The drafts slice: unsent composer text per room (or per thread), kept in
// sessionStorage so it survives reloads and reconnects of the tab.
export type DraftsState = Record<string, string>;

export const DRAFTS_KEY = 'hearth-drafts';

export function draftKey(room: string, thread?: string | null): string {
  return thread ? `${room}#${thread}` : room;
}

export function setDraft(s: DraftsState, key: string, text: string): DraftsState {
  if ((s[key] ?? '') === text) return s;
  const next = { ...s };
  if (text) next[key] = text;
  else delete next[key];
  return next;
}

export function loadDrafts(storage: Pick<Storage, 'getItem'> | undefined): DraftsState {
  try {
    const raw = storage?.getItem(DRAFTS_KEY);
    const v = raw ? JSON.parse(raw) : {};
    return v && typeof v === 'object' ? (v as DraftsState) : {};
  } catch {
    return {};
  }
}
