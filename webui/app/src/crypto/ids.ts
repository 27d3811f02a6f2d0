// ids.ts is the one place where Hearth identifiers meet Matrix ones
// (shared/guide/E2EE.md, API.md §7). An OlmMachine accepts Matrix
// identifiers only, and every client must map them the same way, or a
// room key shared for one room ID would not decrypt the other's events.
//
//   user     name@nodeID      <->  @name:nodeID   (a base58 node ID is a valid server name)
//   room     roomID           <->  !roomID:hearth (room IDs are URL-safe: no ":")
//   message  msgID            <->  $msgID

/** ROOM_SERVER is the server part of every room's Matrix ID: fixed, so every client agrees. */
export const ROOM_SERVER = 'hearth';

const USER_RE = /^([a-z0-9._-]{1,64})@([1-9A-HJ-NP-Za-km-z]{1,128})$/;
const MX_USER_RE = /^@([a-z0-9._-]{1,64}):([1-9A-HJ-NP-Za-km-z]{1,128})$/;
const ROOM_RE = /^[A-Za-z0-9._~-]{1,128}$/;

/** toMatrixUser maps name@nodeID to @name:nodeID; it throws on anything else. */
export function toMatrixUser(id: string): string {
  const m = USER_RE.exec(id);
  if (!m) throw new Error(`not a Hearth user ID: ${JSON.stringify(id)}`);
  return `@${m[1]}:${m[2]}`;
}

/** fromMatrixUser maps @name:nodeID back to name@nodeID; it throws on anything else. */
export function fromMatrixUser(id: string): string {
  const m = MX_USER_RE.exec(id);
  if (!m) throw new Error(`not the Matrix form of a Hearth user: ${JSON.stringify(id)}`);
  return `${m[1]}@${m[2]}`;
}

/** toMatrixRoom maps a Hearth room ID to !roomID:hearth. */
export function toMatrixRoom(id: string): string {
  if (!ROOM_RE.test(id)) throw new Error(`not a Hearth room ID: ${JSON.stringify(id)}`);
  return `!${id}:${ROOM_SERVER}`;
}

/** fromMatrixRoom maps !roomID:hearth back to the Hearth room ID. */
export function fromMatrixRoom(id: string): string {
  const suffix = `:${ROOM_SERVER}`;
  if (!id.startsWith('!') || !id.endsWith(suffix)) throw new Error(`not a Hearth room's Matrix ID: ${JSON.stringify(id)}`);
  const inner = id.slice(1, -suffix.length);
  if (!ROOM_RE.test(inner)) throw new Error(`not a Hearth room's Matrix ID: ${JSON.stringify(id)}`);
  return inner;
}

/** toMatrixEvent maps a Hearth message ID to a Matrix event ID. */
export function toMatrixEvent(id: string): string {
  return `$${id}`;
}
