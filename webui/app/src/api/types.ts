// The v1 client contract (shared/spec/API.md) plus Hearth's additions
// (docs/api.md). Field names match the wire format exactly.

export type UserID = string;
export type RoomID = string;
export type MessageID = string;
export type Presence = 'online' | 'offline';

export interface User {
  id: UserID;
  username: string;
  displayName: string;
  avatar?: string;
  node: string;
  presence?: Presence;
  lastSeen?: number;
}

export interface Session {
  user: User;
  accessToken: string;
  refreshToken?: string;
  expiresIn: number;
  /** the session's device (API.md §7). */
  deviceId?: string;
}

/** Encrypted is the m.room.encrypted content of a message in an encrypted room (API.md §7). */
export interface Encrypted {
  algorithm: string;
  ciphertext: string;
  session_id: string;
  sender_key?: string;
  device_id?: string;
}

/** Media is a stored file (API.md §6): what an upload returns and what messages attach. */
export interface Media {
  id: string;
  type: string;
  size: number;
  name?: string;
  width?: number;
  height?: number;
  blurhash?: string;
}

/** AttachmentRef is what a send names: a file the sender may read, and the name to show. */
export interface AttachmentRef {
  id: string;
  name?: string;
}

export interface Message {
  id: MessageID;
  room: RoomID;
  sender: UserID;
  body: string;
  ts: number;
  replyTo?: MessageID;
  thread?: MessageID;
  clientId?: string;
  editedAt?: number;
  deleted?: boolean;
  attachments?: Media[];
  /** per key: how many show it, a few of them (newest first), and whether I do (REST only). */
  reactions?: Reaction[];
  threadCount?: number;
  /** set in end-to-end encrypted rooms; body is then empty on the wire. */
  encrypted?: Encrypted;
  /** the users the message mentions (API.md §9). */
  mentions?: UserID[];
  /** the message mentions every member. */
  mentionsRoom?: boolean;
}

export interface Reaction {
  emoji: string;
  count: number;
  users: UserID[];
  me?: boolean;
}

/** A reaction delta: user now shows (on) or no longer shows emoji, which count users show. */
export interface ReactionFrame {
  type: 'reaction';
  room: RoomID;
  message: MessageID;
  emoji: string;
  user: UserID;
  on: boolean;
  count: number;
}

export interface Room {
  id: RoomID;
  name: string;
  topic?: string;
  kind: 'group' | 'dm';
  visibility: 'public' | 'private';
  /** joined members: all of them in a room of at most 100, else some (the caller always). */
  members: UserID[];
  /** how many members the room has. */
  memberCount?: number;
  createdBy: UserID;
  createdAt: number;
  lastMessage?: Message;
  unread?: number;
  /** unread messages that mention me (API.md §9). */
  mentions?: number;
  historyComplete?: boolean;
  /** pending invites; present for members and invitees. */
  invited?: UserID[];
  /** end-to-end encrypted (API.md §7); never turned off. */
  encrypted?: boolean;
  /** members above "member" (API.md §8), at most 100, highest first. */
  roles?: Record<UserID, Role>;
  /** the lowest role that may post (API.md §8); "member" unless an announcement room. */
  postingRole?: Role;
  /** pinned messages, most recently pinned first (API.md §8). */
  pinned?: MessageID[];
  /** the room's picture, a media ID (docs/api.md). */
  avatar?: string;
  /** for each power the lowest role that holds it (docs/protocol.md §2.4); group rooms only. */
  powers?: Partial<Record<Power, Role>>;
}

/** Role is a member's level in a room: owner > admin > moderator > member. */
export type Role = 'owner' | 'admin' | 'moderator' | 'member';

/** Power names one thing a room's members may be allowed to do. */
export type Power =
  | 'post'
  | 'invite'
  | 'kick'
  | 'ban'
  | 'delete'
  | 'pin'
  | 'name'
  | 'topic'
  | 'avatar'
  | 'roles'
  | 'powers';

/**
 * TimelineEvent is a change shown as a quiet line between messages (docs/api.md,
 * GET /rooms/{id}/timeline): the room's creation, a membership or role change,
 * a rename, a new topic or picture, a new powers table, a pin, or a
 * moderator's deletion of someone's message.
 */
export interface TimelineEvent {
  id: string;
  room: RoomID;
  type: 'room.create' | 'member' | 'room.update' | 'room.powers' | 'room.pin' | 'message.delete';
  sender?: UserID;
  ts: number;
  user?: UserID;
  membership?: 'join' | 'leave' | 'invite' | 'kick' | 'ban' | 'unban' | 'role';
  /** the new role of a role change. */
  role?: Role;
  reason?: string;
  /** set on room.create, and on room.update when it changed the name. */
  name?: string;
  /** set on room.create with a topic, and on room.update when it changed the topic ("" = cleared). */
  topic?: string;
  /** set on room.update when it changed the picture ("" = removed). */
  avatar?: string;
  /** a room.powers event's whole table. */
  powers?: Partial<Record<Power, Role>>;
  /** the message a pin or a deletion names; on: pinned (true) or unpinned. */
  target?: MessageID;
  on?: boolean;
}

export interface NodeInfo {
  id: string;
  name: string;
  addrs: string[];
  version: string;
  peers?: number | string[];
  /** Who may sign up (API.md §8); token means an invite token is needed. */
  registration?: 'open' | 'token' | 'closed';
}

export interface Receipt {
  user: UserID;
  upTo: MessageID;
  kind: 'read' | 'delivered';
  ts?: number;
}

export interface ApiErrorBody {
  error: { code: string; message: string };
}

// Client → server frames.
export type ClientFrame =
  | { type: 'auth'; token: string }
  | SendFrame
  | { type: 'typing'; room: RoomID; typing: boolean }
  | { type: 'read'; room: RoomID; upTo: MessageID }
  | { type: 'edit'; id?: string; room: RoomID; message: MessageID; body: string }
  | { type: 'todevice_ack'; upTo: string }
  | { type: 'delete'; id?: string; room: RoomID; message: MessageID }
  | { type: 'react'; id?: string; room: RoomID; message: MessageID; emoji: string; on: boolean }
  | { type: 'ping' };

export interface SendFrame {
  type: 'send';
  id: string;
  room: RoomID;
  /** absent in an encrypted room, where encrypted carries the content. */
  body?: string;
  encrypted?: Encrypted;
  replyTo?: MessageID;
  thread?: MessageID;
  attachments?: AttachmentRef[];
  mentions?: UserID[];
  mentionsRoom?: boolean;
}

/** someone else's membership changed in one of our rooms. */
export interface MemberFrame {
  type: 'member';
  room: RoomID;
  user: UserID;
  membership: 'join' | 'leave' | 'invite' | 'kick' | 'ban';
  memberCount: number;
}

// Server → client frames.
export type ServerFrame =
  | { type: 'ready'; user: User }
  | { type: 'ack'; id: string; message: Message }
  | { type: 'message'; message: Message }
  | { type: 'update'; message: Message }
  | ReactionFrame
  | { type: 'presence'; user: UserID; presence: Presence; lastSeen?: number }
  | { type: 'typing'; room: RoomID; user: UserID; typing: boolean }
  | { type: 'receipt'; room: RoomID; user: UserID; upTo: MessageID; kind: 'delivered' | 'read' }
  | { type: 'room'; room: Room }
  | MemberFrame
  | { type: 'error'; id?: string; code: string; message: string }
  | { type: 'pong' }
  // docs/api.md: the user's notification settings after a change in any tab.
  | { type: 'notifications'; settings: NotifySettings }
  // API.md §7: the connection's device; handled by src/crypto, never the store.
  | { type: 'todevice'; events: unknown[]; next: string }
  | { type: 'device_lists'; changed: UserID[]; left: UserID[]; next?: string }
  | { type: 'key_counts'; oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes: string[] };

// Notifications (docs/api.md "Notifications and Web Push").

/** NotifyLevel is a room's notification level; 'default' only when setting it. */
export type NotifyLevel = 'all' | 'mentions' | 'mute';

export interface NotifySettings {
  dnd: boolean;
  /** ms since epoch; absent while do-not-disturb lasts until turned off. */
  dndUntil?: number;
  /** the rooms whose level the user chose. */
  rooms: Record<RoomID, NotifyLevel>;
  /** the levels of the others, by room kind. */
  defaults: { dm: NotifyLevel; group: NotifyLevel };
}

export interface RoomNotify {
  room: RoomID;
  level: NotifyLevel;
  default: boolean;
}

export interface PushSubscriptionView {
  id: string;
  endpoint: string;
  deviceId?: string;
  createdAt: number;
}
