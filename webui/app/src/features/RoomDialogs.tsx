import { useEffect, useId, useState, type FormEvent } from 'react';
import { Modal } from '../components/Modal';
import { RoomIcon } from '../components/RoomIcon';
import type { Room } from '../api/types';
import { api, createRoom, joinRoom, updateRoom } from '../api/app';
import { describeError } from '../api/errors';
import { useStore } from '../store';
import { roomIdFrom } from './roomLink';

const VISIBILITY = {
  public: {
    label: 'Public',
    help: 'Anyone on this node or the nodes it federates with can find it in the room directory, join it and read it.',
  },
  private: {
    label: 'Private',
    help: 'Only people you invite can join and read it. It is not listed anywhere.',
  },
} as const;

export function NewRoomDialog({ onClose, onCreated }: { onClose(): void; onCreated(r: Room): void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [visibility, setVisibility] = useState<'public' | 'private'>('public');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { public: useId(), private: useId() };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await createRoom(name.trim(), visibility, topic.trim());
      onClose();
      onCreated(r);
    } catch (err) {
      setError(describeError(err, 'createRoom'));
      setBusy(false);
    }
  };
  return (
    <Modal title="New room" onClose={onClose}>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Room name</span>
          <input className="input input-bordered w-full" dir="auto" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Topic</span>
          <input className="input input-bordered w-full" dir="auto" maxLength={1000} value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <fieldset className="flex flex-col gap-2">
          <legend className="label-text mb-1">Who can join</legend>
          {(['public', 'private'] as const).map((v) => (
            <label key={v} className={`flex items-start gap-3 rounded-box border p-2 cursor-pointer ${visibility === v ? 'border-primary' : 'border-base-300'}`}>
              <input
                type="radio"
                className="radio radio-sm mt-0.5"
                name="visibility"
                checked={visibility === v}
                aria-describedby={ids[v]}
                onChange={() => setVisibility(v)}
              />
              <span>
                <span className="font-semibold flex items-center gap-1">
                  <RoomIcon visibility={v} /> {VISIBILITY[v].label}
                </span>
                <span id={ids[v]} className="block text-sm opacity-80">
                  {VISIBILITY[v].help}
                </span>
              </span>
            </label>
          ))}
        </fieldset>
        {error && (
          <div role="alert" className="alert alert-error text-sm py-1">
            {error}
          </div>
        )}
        <div className="modal-action mt-0">
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            Create room
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** RoomSettingsDialog renames a room and changes its topic. */
export function RoomSettingsDialog({ room, onClose }: { room: Room; onClose(): void }) {
  const [name, setName] = useState(room.name);
  const [topic, setTopic] = useState(room.topic ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await updateRoom(room.id, { name: name.trim(), topic: topic.trim() });
      onClose();
    } catch (err) {
      setError(describeError(err, 'updateRoom'));
      setBusy(false);
    }
  };
  return (
    <Modal title="Room settings" onClose={onClose}>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Room name</span>
          <input className="input input-bordered w-full" dir="auto" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Topic</span>
          <textarea className="textarea textarea-bordered w-full" dir="auto" maxLength={1000} rows={3} value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <p className="text-sm opacity-80 flex items-center gap-1">
          <RoomIcon visibility={room.visibility} encrypted={room.encrypted} /> {VISIBILITY[room.visibility].help}
        </p>
        {error && (
          <div role="alert" className="alert alert-error text-sm py-1">
            {error}
          </div>
        )}
        <div className="modal-action mt-0">
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** CopyLinkDialog shows a room's link to copy by hand, where the clipboard is out of reach. */
export function CopyLinkDialog({ link, onClose }: { link: string; onClose(): void }) {
  return (
    <Modal title="Room link" onClose={onClose}>
      <label className="form-control w-full">
        <span className="label-text mb-1 block">Link to this room</span>
        <input className="input input-bordered w-full" readOnly value={link} onFocus={(e) => e.target.select()} data-autofocus />
      </label>
      <p className="text-sm opacity-80 mt-2">Anyone who may join can paste it into “Join by ID or link”.</p>
    </Modal>
  );
}

const memberWord = (n: number) => `${n} ${n === 1 ? 'member' : 'members'}`;

/** DirectoryDialog lists public rooms across the federation and joins by ID or link. */
export function DirectoryDialog({ onClose, onOpen }: { onClose(): void; onOpen(id: string): void }) {
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [roomRef, setRoomRef] = useState('');
  const mine = useStore((s) => s.rooms.byId);
  const me = useStore((s) => s.session.user?.id);

  // The directory comes a page at a time: it may list thousands of rooms.
  const load = (after?: string) =>
    api
      .publicRooms({ after })
      .then((p) => {
        setRooms((prev) => (after && prev ? [...prev, ...p.rooms] : p.rooms));
        setNext(p.next);
      })
      .catch((e) => setError(describeError(e, 'load')));

  useEffect(() => {
    load();
  }, []);

  const join = async (id: string) => {
    try {
      if (!me || !mine[id]?.members.includes(me)) await joinRoom(id);
      onClose();
      onOpen(id);
    } catch (err) {
      setError(describeError(err, 'joinRoom'));
    }
  };

  return (
    <Modal title="Public rooms" onClose={onClose} wide>
      <form
        className="flex gap-2 items-end mb-3"
        onSubmit={(e) => {
          e.preventDefault();
          const id = roomIdFrom(roomRef);
          if (id) join(id);
          else setError('That is not a room ID or a room link.');
        }}
      >
        <label className="form-control flex-1">
          <span className="label-text mb-1 block">Room ID or link</span>
          <input className="input input-bordered input-sm w-full" value={roomRef} onChange={(e) => setRoomRef(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm" disabled={!roomRef.trim()}>
          Join by ID
        </button>
      </form>
      {error && (
        <div role="alert" className="alert alert-error text-sm py-1 mb-2">
          {error}
        </div>
      )}
      {!rooms && !error && <span className="loading loading-dots" aria-label="Loading rooms" />}
      {rooms && rooms.length === 0 && <p className="opacity-80 text-sm">No public rooms yet.</p>}
      <ul className="flex flex-col gap-1 max-h-80 overflow-y-auto">
        {rooms?.map((r) => (
          <li key={r.id} className="flex items-center gap-2 p-1" data-room-id={r.id}>
            <span className="min-w-0 flex-1">
              <span className="font-semibold truncate flex items-center gap-1">
                <RoomIcon visibility="public" />
                <span dir="auto" className="truncate">
                  {r.name}
                </span>
              </span>
              <span className="block text-xs opacity-80 truncate" dir="auto">
                {r.topic ? `${r.topic} · ` : ''}
                {memberWord(r.memberCount ?? r.members?.length ?? 0)}
              </span>
            </span>
            <button type="button" className="btn btn-sm btn-primary" aria-label={`${mine[r.id] ? 'Open' : 'Join'} ${r.name}`} onClick={() => join(r.id)}>
              {mine[r.id] ? 'Open' : 'Join'}
            </button>
          </li>
        ))}
      </ul>
      {next && (
        <button type="button" className="btn btn-sm btn-ghost mt-2" onClick={() => load(next)}>
          More rooms
        </button>
      )}
    </Modal>
  );
}
