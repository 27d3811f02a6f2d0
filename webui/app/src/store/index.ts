// The one Zustand store, built from the slices in this directory. Only
// src/store imports zustand; the rest of the app uses the hooks and the
// actions exported here.
import { create } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { Message, NotifyLevel, NotifySettings, Receipt, Room, ServerFrame, TimelineEvent, User } from '../api/types';
import type { FileRef } from '../crypto/content';
import * as conn from './connection';
import * as crypto from './crypto';
import { DRAFTS_KEY, loadDrafts, setDraft } from './drafts';
import * as evs from './events';
import * as msgs from './messages';
import * as ntf from './notify';
import * as pres from './presence';
import * as rcpt from './receipts';
import { initialData, mergeMessages, reduceFrame, type AppData } from './reduce';
import * as rooms from './rooms';
import * as sess from './session';
import * as typ from './typing';
import * as vw from './view';

export interface Actions {
  applyFrame(f: ServerFrame): void;
  signedIn(user: User): void;
  signedOut(): void;
  /** setRooms takes a fetched list; since is rooms.seq when the fetch was sent (rooms.ts). */
  setRooms(list: Room[], since?: number): void;
  upsertRoom(r: Room): void;
  removeRoom(id: string): void;
  setActiveRoom(id: string | null): void;
  mergePage(room: string, list: Message[], opts: { more?: boolean; newest?: boolean; thread?: string }): void;
  mergeMessages(list: Message[]): void;
  addPending(p: msgs.PendingSend): void;
  failSend(clientId: string, error: string): void;
  retrySend(clientId: string): void;
  discardSend(clientId: string): void;
  addUsers(users: User[]): void;
  applyReceipts(room: string, list: Receipt[]): void;
  connecting(): void;
  dropped(retryAt: number | null, error?: string): void;
  setDraft(key: string, text: string): void;
  pruneTyping(now: number): void;
  addRefs(list: Message[]): void;
  mergeEvents(room: string, list: TimelineEvent[]): void;
  enterRoom(room: string): void;
  land(room: string, unreadFrom: string | null): void;
  focusMessage(room: string, id: string, highlight: boolean): void;
  setEditing(id: string | null): void;
  applyDecrypted(room: string, id: string, ciphertext: string, body: string, view: msgs.E2eeView, files?: FileRef[]): void;
  setCryptoStatus(status: crypto.CryptoState['status'], error?: string): void;
  setVerification(v: crypto.VerificationView | null): void;
  bumpDevices(): void;
  setNotifySettings(ns: NotifySettings): void;
  setRoomNotify(room: string, level: NotifyLevel | 'default'): void;
}

export type AppState = AppData & Actions;

const storage = typeof sessionStorage !== 'undefined' ? sessionStorage : undefined;

export const useStore = create<AppState>()((set) => ({
  ...initialData(loadDrafts(storage)),
  applyFrame: (f) => set((s) => reduceFrame(s, f, Date.now())),
  signedIn: (user) =>
    set((s) => ({ session: sess.signedIn(s.session, user), presence: pres.addUsers(s.presence, [user]) })),
  // Logging out forgets everything but the drafts of this tab.
  signedOut: () => set((s) => ({ ...initialData(s.drafts), session: sess.signedOut() })),
  setRooms: (list, since) => set((s) => ({ rooms: rooms.setRooms(s.rooms, list, since) })),
  upsertRoom: (r) => set((s) => ({ rooms: rooms.upsertRoom(s.rooms, r) })),
  removeRoom: (id) => set((s) => ({ rooms: rooms.removeRoom(s.rooms, id) })),
  setActiveRoom: (id) => set((s) => ({ rooms: rooms.setActive(s.rooms, id) })),
  mergePage: (room, list, opts) =>
    set((s) => {
      const merged = mergeMessages(s, list);
      return { ...merged, messages: msgs.mergePage(merged.messages, room, [], opts) };
    }),
  mergeMessages: (list) => set((s) => mergeMessages(s, list)),
  addPending: (p) => set((s) => ({ messages: msgs.addPending(s.messages, p) })),
  failSend: (id, error) => set((s) => ({ messages: msgs.failSend(s.messages, id, error) })),
  retrySend: (id) => set((s) => ({ messages: msgs.retrySend(s.messages, id) })),
  discardSend: (id) => set((s) => ({ messages: msgs.discardSend(s.messages, id) })),
  addUsers: (users) => set((s) => ({ presence: pres.addUsers(s.presence, users) })),
  applyReceipts: (room, list) => set((s) => ({ receipts: rcpt.applyReceipts(s.receipts, room, list) })),
  connecting: () => set((s) => ({ connection: conn.connecting(s.connection) })),
  dropped: (retryAt, error) => set((s) => ({ connection: conn.dropped(s.connection, retryAt, error) })),
  setDraft: (key, text) => set((s) => ({ drafts: setDraft(s.drafts, key, text) })),
  addRefs: (list) => set((s) => ({ messages: msgs.addRefs(s.messages, list) })),
  mergeEvents: (room, list) =>
    set((s) => {
      const e = evs.mergeEvents(s.events, room, list);
      return e === s.events ? s : { events: e };
    }),
  enterRoom: (room) => set((s) => ({ view: vw.enter(s.view, room) })),
  land: (room, unreadFrom) => set((s) => ({ view: vw.land(s.view, room, unreadFrom) })),
  focusMessage: (room, id, highlight) => set((s) => ({ view: vw.focusMessage(s.view, room, id, highlight) })),
  setEditing: (id) => set((s) => ({ view: vw.setEditing(s.view, id) })),
  applyDecrypted: (room, id, ciphertext, body, view, files) =>
    set((s) => {
      const m = msgs.applyDecrypted(s.messages, room, id, ciphertext, body, view, files);
      if (m === s.messages) return s;
      // The room list's preview shows the plaintext too.
      const r = s.rooms.byId[room];
      if (r?.lastMessage?.id === id && view.ok) {
        return { messages: m, rooms: { ...s.rooms, byId: { ...s.rooms.byId, [room]: { ...r, lastMessage: { ...r.lastMessage, body } } } } };
      }
      return { messages: m };
    }),
  setCryptoStatus: (status, error) => set((s) => ({ crypto: crypto.setStatus(s.crypto, status, error) })),
  setVerification: (v) => set((s) => ({ crypto: crypto.setVerification(s.crypto, v) })),
  bumpDevices: () => set((s) => ({ crypto: crypto.bumpDevices(s.crypto) })),
  setNotifySettings: (ns) => set((s) => ({ notify: ntf.setSettings(s.notify, ns) })),
  setRoomNotify: (room, level) => set((s) => ({ notify: ntf.setRoomLevel(s.notify, room, level) })),
  pruneTyping: (now) =>
    set((s) => {
      const t = typ.pruneTyping(s.typing, now);
      return t === s.typing ? s : { typing: t };
    }),
}));

useStore.subscribe((s, prev) => {
  if (s.drafts !== prev.drafts && storage) {
    try {
      storage.setItem(DRAFTS_KEY, JSON.stringify(s.drafts));
    } catch {
      /* storage full or disabled: drafts stay in memory */
    }
  }
});

export const store = {
  get: useStore.getState,
  subscribe: useStore.subscribe,
};

export { useShallow };
export type { AppData };
export { draftKey } from './drafts';
export type { ChatMessage, E2eeView, Timeline } from './messages';
export type { CryptoState, VerificationView } from './crypto';
export { findMessage, newestConfirmed, oldestConfirmed } from './messages';
export { EVENT_PREFIX, isEventItem, newestEventTs, timelineItems } from './events';
export type { RoomEvents } from './events';
export { firstUnread } from './view';
export { memberCount, sortedRooms } from './rooms';
export { displayName } from './presence';
export { typingUsers } from './typing';
export { levelOf as notifyLevel, notifies, silenced } from './notify';
export type { NotifyState } from './notify';
export { summarize } from './receipts';
