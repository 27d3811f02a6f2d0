import { useEffect, useState, type FormEvent } from 'react';
import { Modal } from '../components/Modal';
import type { Room } from '../api/types';
import { api, createRoom, describeError, joinRoom } from '../api/app';
import { useStore } from '../store';

export function NewRoomDialog({ onClose, onCreated }: { onClose(): void; onCreated(r: Room): void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [visibility, setVisibility] = useState<'public' | 'private'>('public');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await createRoom(name.trim(), visibility, topic.trim());
      onClose();
      onCreated(r);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="New room" onClose={onClose}>
      <form onSubmit={submit} className="flex flex-col gap-3">
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Room name</span>
          <input className="input input-bordered w-full" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="form-control w-full">
          <span className="label-text mb-1 block">Topic</span>
          <input className="input input-bordered w-full" maxLength={300} value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <fieldset className="flex gap-4">
          <legend className="label-text mb-1">Visibility</legend>
          <label className="flex items-center gap-2">
            <input type="radio" className="radio radio-sm" name="visibility" checked={visibility === 'public'} onChange={() => setVisibility('public')} />
            Public
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" className="radio radio-sm" name="visibility" checked={visibility === 'private'} onChange={() => setVisibility('private')} />
            Private
          </label>
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

/** DirectoryDialog lists public rooms across the federation and joins by ID. */
export function DirectoryDialog({ onClose, onOpen }: { onClose(): void; onOpen(id: string): void }) {
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [roomId, setRoomId] = useState('');
  const mine = useStore((s) => s.rooms.byId);

  // The directory comes a page at a time: it may list thousands of rooms.
  const load = (after?: string) =>
    api
      .publicRooms({ after })
      .then((p) => {
        setRooms((prev) => (after && prev ? [...prev, ...p.rooms] : p.rooms));
        setNext(p.next);
      })
      .catch((e) => setError(describeError(e)));

  useEffect(() => {
    load();
  }, []);

  const join = async (id: string) => {
    try {
      if (!mine[id]) await joinRoom(id);
      onClose();
      onOpen(id);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <Modal title="Public rooms" onClose={onClose}>
      <form
        className="flex gap-2 items-end mb-3"
        onSubmit={(e) => {
          e.preventDefault();
          if (roomId.trim()) join(roomId.trim());
        }}
      >
        <label className="form-control flex-1">
          <span className="label-text mb-1 block">Room ID</span>
          <input className="input input-bordered input-sm w-full" value={roomId} onChange={(e) => setRoomId(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-sm" disabled={!roomId.trim()}>
          Join by ID
        </button>
      </form>
      {error && (
        <div role="alert" className="alert alert-error text-sm py-1 mb-2">
          {error}
        </div>
      )}
      {!rooms && !error && <span className="loading loading-dots" aria-label="Loading rooms" />}
      {rooms && rooms.length === 0 && <p className="opacity-70 text-sm">No public rooms yet.</p>}
      <ul className="flex flex-col gap-1 max-h-80 overflow-y-auto">
        {rooms?.map((r) => (
          <li key={r.id} className="flex items-center gap-2 p-1" data-room-id={r.id}>
            <span className="min-w-0 flex-1">
              <span className="block font-semibold truncate"># {r.name}</span>
              <span className="block text-xs opacity-60 truncate">
                {r.topic ? `${r.topic} · ` : ''}
                {r.members?.length ?? 0} members
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
