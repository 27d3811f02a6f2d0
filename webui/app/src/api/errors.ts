// errors.ts turns what the API layer throws, and the codes of error frames,
// into sentences for people. The node's own messages are for developers
// (lower case, terse, sometimes internal); the UI never shows them: it maps
// the contract's error codes (API.md §3), per action where the same code
// means different things ("not_found" while joining is a bad room ID,
// while editing a deleted message).
import { ApiError } from './rest';

/** Action names the operation that failed, so a code can be explained in its terms. */
export type Action =
  | 'login'
  | 'signup'
  | 'signupToken'
  | 'load'
  | 'openRoom'
  | 'joinRoom'
  | 'leaveRoom'
  | 'createRoom'
  | 'updateRoom'
  | 'invite'
  | 'dm'
  | 'send'
  | 'edit'
  | 'delete'
  | 'react'
  | 'profile'
  | 'password'
  | 'searchUsers'
  | 'moderate'
  | 'upload'
  | 'avatar'
  | 'notifications';

type Table = Partial<Record<string, string>>;

const GENERIC: Table = {
  invalid_argument: 'The node did not accept that. Check what you entered and try again.',
  unauthenticated: 'Your session has ended. Log in again to continue.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'That no longer exists, or you cannot see it.',
  conflict: 'That already exists.',
  too_large: 'That is too large for the node.',
  rate_limited: 'You are doing that too often. Wait a moment and try again.',
  unavailable: 'The node is busy or restarting. Try again in a moment.',
  internal: 'Something went wrong on the node. Try again; if it keeps happening, tell whoever runs the node.',
  network: 'Cannot reach the node. Check your connection.',
};

const BY_ACTION: Record<Action, Table> = {
  login: {
    unauthenticated: 'Wrong username or password.',
    invalid_argument: 'Wrong username or password.',
    rate_limited: 'Too many attempts to log in. Wait a little and try again.',
    forbidden: "This account is locked. Ask the node's admins.",
  },
  signup: {
    conflict: 'That username is taken. Choose another one.',
    invalid_argument:
      'Usernames are 3 to 32 characters (letters, digits, dots, dashes and underscores); passwords are 8 to 72 characters.',
    forbidden: 'This node does not accept new accounts.',
    rate_limited: 'Too many sign-ups from your network. Try again later.',
  },
  // Sign-up on a node that asks for an invite token (API.md §8): there a
  // refusal is the token's.
  signupToken: {
    conflict: 'That username is taken. Choose another one.',
    invalid_argument:
      'Usernames are 3 to 32 characters (letters, digits, dots, dashes and underscores); passwords are 8 to 72 characters.',
    forbidden: "This invite token is not valid: it may be used up, expired or revoked. Ask the node's admins for a new one.",
    rate_limited: 'Too many sign-ups from your network. Try again later.',
  },
  load: {},
  openRoom: {
    not_found: 'There is no room at this address, or it was removed.',
    forbidden: 'This room is private. Ask a member to invite you.',
  },
  joinRoom: {
    not_found: 'No room with that ID was found on this node or the nodes it knows.',
    forbidden: 'This room is private: you need an invitation to join.',
    invalid_argument: 'That is not a room ID or a room link.',
  },
  leaveRoom: { forbidden: 'You are not in this room any more.' },
  createRoom: {
    invalid_argument: 'Room names are 1 to 100 characters on one line, and topics at most 1,000 characters.',
    rate_limited: 'You have created many rooms recently. Try again later.',
  },
  updateRoom: {
    forbidden: 'You may not change this room (ask one of its admins).',
    invalid_argument: 'Room names are 1 to 100 characters on one line, and topics at most 1,000 characters.',
  },
  invite: {
    not_found: 'There is no such user.',
    forbidden: 'You cannot invite people to this room (or that person is banned from it).',
  },
  dm: { not_found: 'There is no such user.', invalid_argument: 'You cannot send a direct message to that user.' },
  send: {
    forbidden: 'You are not a member of this room any more, or may not post in it.',
    too_large: 'This message is too long (16 KiB at most).',
    invalid_argument: 'The node did not accept this message.',
    not_found: 'This room no longer exists.',
    rate_limited: 'You are sending too fast. Wait a moment and retry.',
  },
  edit: {
    forbidden: 'You can only edit your own messages.',
    not_found: 'That message was deleted.',
    too_large: 'This message is too long (16 KiB at most).',
    invalid_argument: 'A message cannot be empty.',
  },
  delete: { forbidden: 'You can only delete your own messages (moderators: those of members of a lower role).', not_found: 'That message was already deleted.' },
  react: {
    invalid_argument: 'The node does not accept that reaction.',
    not_found: 'That message was deleted.',
    forbidden: 'Join the room to react.',
  },
  profile: { invalid_argument: 'Display names are at most 64 characters.' },
  password: {
    unauthenticated: 'Your current password is wrong.',
    forbidden: 'Your current password is wrong.',
    invalid_argument: 'New passwords are 8 to 72 characters.',
  },
  searchUsers: {},
  moderate: {
    forbidden: 'You may not do that to this member (only to members of a lower role, with the power to).',
    not_found: 'That person is no longer in this room.',
  },
  upload: {
    too_large: 'This file is larger than this node accepts.',
    quota_exceeded: 'Your storage on this node is full. Delete messages with files you no longer need, or ask whoever runs the node for more room.',
    rate_limited: 'You are uploading too many files at once. Wait for the others to finish, then try again.',
    invalid_argument: 'The node could not read this file as the image it claims to be.',
    forbidden: 'You are not allowed to upload files here.',
  },
  notifications: {
    not_found: 'You are not in this room any more, or this node does not send push notifications.',
    forbidden: 'This account has too many devices with push notifications on; turn them off on one first.',
    limit_exceeded: 'This account has too many devices with push notifications on; turn them off on one first.',
    invalid_argument: 'The node did not accept this setting.',
  },
  avatar: {
    invalid_argument: 'An avatar must be a PNG, JPEG, GIF, WebP or AVIF image.',
    too_large: 'This picture is larger than this node accepts.',
    quota_exceeded: 'Your storage on this node is full. Delete files you no longer need first.',
    rate_limited: 'You are uploading too many files at once. Wait a moment and try again.',
  },
};

/** codeOf reads the contract's error code from anything the API layer throws. */
export function codeOf(err: unknown): string {
  if (err instanceof ApiError) return err.code;
  if (err instanceof TypeError) return 'network'; // fetch could not reach the node
  return 'internal';
}

/** describeCode explains an error code (of a response or an error frame) for an action. */
export function describeCode(code: string, action?: Action, retryAfter?: number): string {
  const sentence =
    (action && BY_ACTION[action][code]) ??
    GENERIC[code] ??
    (code.startsWith('http_') ? `Something went wrong (error ${code.slice(5)}). Try again.` : GENERIC.internal!);
  if (code === 'rate_limited' && retryAfter) return `${sentence} (You can try again in ${retryAfter} s.)`;
  return sentence;
}

/** describeError turns anything thrown by the API layer into a sentence for people. */
export function describeError(err: unknown, action?: Action): string {
  return describeCode(codeOf(err), action, err instanceof ApiError ? err.retryAfter : undefined);
}
