// reduceFrame applies one server frame to the whole app state. It is pure:
// the socket calls it through the store, tests call it directly.
import type { ServerFrame } from '../api/types';
import * as conn from './connection';
import * as crypto from './crypto';
import type { CryptoState } from './crypto';
import type { ConnectionState } from './connection';
import type { DraftsState } from './drafts';
import * as evs from './events';
import type { EventsState } from './events';
import * as msgs from './messages';
import * as ntf from './notify';
import type { NotifyState } from './notify';
import type { MessagesState } from './messages';
import * as pres from './presence';
import type { PresenceState } from './presence';
import { applyReactionFrame, keepMine } from './reactions';
import * as rcpt from './receipts';
import type { ReceiptsState } from './receipts';
import * as rooms from './rooms';
import type { RoomsState } from './rooms';
import * as sess from './session';
import type { SessionState } from './session';
import * as typ from './typing';
import type { TypingState } from './typing';
import * as vw from './view';
import type { ViewState } from './view';

export interface AppData {
  session: SessionState;
  rooms: RoomsState;
  messages: MessagesState;
  presence: PresenceState;
  typing: TypingState;
  receipts: ReceiptsState;
  connection: ConnectionState;
  drafts: DraftsState;
  events: EventsState;
  view: ViewState;
  crypto: CryptoState;
  notify: NotifyState;
}

export function initialData(drafts: DraftsState = {}): AppData {
  return {
    session: sess.initialSession,
    rooms: rooms.initialRooms,
    messages: msgs.initialMessages,
    presence: pres.initialPresence,
    typing: typ.initialTyping,
    receipts: rcpt.initialReceipts,
    connection: conn.initialConnection,
    drafts,
    events: evs.initialEvents,
    view: vw.initialView,
    crypto: crypto.initialCrypto,
    notify: ntf.initialNotify,
  };
}

/** mergeMessages upserts messages and keeps room previews and unread counts in step. */
export function mergeMessages(s: AppData, list: msgs.ChatMessage[]): AppData {
  const { state, added } = msgs.upsertMessages(s.messages, list);
  if (state === s.messages) return s;
  let r = s.rooms;
  const me = s.session.user?.id;
  for (const m of added) if (!m.status) r = rooms.noteMessage(r, m, me);
  return { ...s, messages: state, rooms: r };
}

export function reduceFrame(s: AppData, f: ServerFrame, now: number): AppData {
  const me = s.session.user?.id;
  switch (f.type) {
    case 'ready':
      return {
        ...s,
        session: sess.signedIn(s.session, f.user),
        presence: pres.addUsers(s.presence, [f.user]),
        connection: conn.ready(s.connection),
      };
    case 'ack':
      return mergeMessages(s, [{ ...f.message, clientId: f.id }]);
    case 'message': {
      const next = mergeMessages(s, [f.message]);
      // A message ends its sender's typing.
      return { ...next, typing: typ.applyTyping(next.typing, f.message.room, f.message.sender, false, now) };
    }
    case 'update': {
      // A change to a message (an edit, a thread reply count) is not a new
      // message: it counts nothing as unread, and touches only the copies
      // the UI holds and the room's preview. Update frames carry no `me`
      // (one frame goes to every member): my flags are kept.
      const m = keepMine(s.messages.rooms[f.message.room]?.byId[f.message.id], f.message);
      return { ...s, messages: msgs.updateExisting(s.messages, [m]), rooms: rooms.noteUpdate(s.rooms, m) };
    }
    case 'reaction':
      return { ...s, messages: applyReactionFrame(s.messages, f, me) };
    case 'presence':
      return { ...s, presence: pres.applyPresence(s.presence, f.user, f.presence, f.lastSeen) };
    case 'typing':
      if (f.user === me) return s;
      return { ...s, typing: typ.applyTyping(s.typing, f.room, f.user, f.typing, now) };
    case 'receipt':
      return { ...s, receipts: rcpt.applyReceipt(s.receipts, f.room, f.user, f.upTo, f.kind) };
    case 'room': {
      // A room frame also tells a user who left, was kicked or declined an
      // invite: a room that neither lists them as a member nor as invited
      // is no longer theirs.
      const mine = !me || f.room.members.includes(me) || (f.room.invited ?? []).includes(me);
      return { ...s, rooms: mine ? rooms.upsertRoom(s.rooms, f.room) : rooms.removeRoom(s.rooms, f.room.id) };
    }
    case 'member':
      return { ...s, rooms: rooms.applyMember(s.rooms, f) };
    case 'notifications':
      // A change made in another tab (or this one): every tab follows.
      return { ...s, notify: ntf.setSettings(s.notify, f.settings) };
    case 'error':
      if (f.id && msgs.findLocal(s.messages, f.id)) {
        return { ...s, messages: msgs.failSend(s.messages, f.id, f.code || 'internal') };
      }
      return s;
    default:
      return s;
  }
}
