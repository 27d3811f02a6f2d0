// The Security section of the settings: this device's encryption, the
// recovery key (key backup), devices (ours and other users') with their
// verification, and key files.
import { useEffect, useState, type FormEvent } from 'react';
import { useStore } from '../../store';
import type { DeviceView } from '../engine';
import { devicesOf, exportKeysFile, importKeysFile, loadCrypto, recoveryState, removeDevice, restore, setUpRecovery, userVerified, verify } from '../browser';

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function Note({ ok, error }: { ok?: string; error?: string }) {
  if (error)
    return (
      <p role="alert" className="text-error text-sm">
        {error}
      </p>
    );
  if (ok)
    return (
      <p role="status" className="text-success text-sm">
        {ok}
      </p>
    );
  return null;
}

/** RemoveDevice signs one of the user's other devices out for good: its sessions end and its keys leave the directory. */
function RemoveDevice({ deviceId, onDone }: { deviceId: string; onDone(): void }) {
  const [open, setOpen] = useState(false);
  const [pw, setPw] = useState('');
  const [error, setError] = useState('');
  if (!open)
    return (
      <button type="button" className="btn btn-xs btn-ghost" onClick={() => setOpen(true)}>
        Remove {deviceId}
      </button>
    );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await removeDevice(deviceId, pw);
      setOpen(false);
      onDone();
    } catch (err) {
      setError(msg(err));
    }
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-center gap-1">
      <label className="flex items-center gap-1">
        <span className="text-xs">Password to remove {deviceId}</span>
        <input className="input input-bordered input-xs" type="password" autoComplete="current-password" required value={pw} onChange={(e) => setPw(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-xs btn-error">
        Remove
      </button>
      <button type="button" className="btn btn-xs btn-ghost" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error && (
        <span role="alert" className="text-error text-xs">
          {error}
        </span>
      )}
    </form>
  );
}

function DeviceList({ user, devices, me, onChange }: { user: string; devices: DeviceView[]; me: boolean; onChange?(): void }) {
  return (
    <ul className="flex flex-col gap-1" aria-label={me ? 'Your devices' : `Devices of ${user}`}>
      {devices.map((d) => (
        <li key={d.deviceId} className="flex flex-wrap items-center gap-2 text-sm" data-device={d.deviceId}>
          <code>{d.deviceId}</code>
          {d.own && <span className="badge badge-sm">this device</span>}
          {d.verified ? (
            <span className="badge badge-success badge-sm">Verified</span>
          ) : (
            <span className="badge badge-ghost badge-sm">Not verified</span>
          )}
          {d.warning === 'loud' && (
            <span role="alert" className="text-error font-semibold">
              ⚠ Not signed by {me ? 'you' : 'its owner'}: this device may not be {me ? 'yours' : 'theirs'} (a node could have added it). It gets no keys.
            </span>
          )}
          {d.warning === 'unsigned' && <span className="opacity-70">Not signed by its owner; gets no keys.</span>}
          {!d.own && !d.verified && (
            <button type="button" className="btn btn-xs btn-outline" onClick={() => void verify(user, d.deviceId)}>
              Verify {d.deviceId}
            </button>
          )}
          {me && !d.own && <RemoveDevice deviceId={d.deviceId} onDone={() => onChange?.()} />}
        </li>
      ))}
    </ul>
  );
}

export function SecurityPanel({ me }: { me: string }) {
  const status = useStore((s) => s.crypto.status);
  const cryptoError = useStore((s) => s.crypto.error);
  const tick = useStore((s) => s.crypto.devicesTick);
  const [mine, setMine] = useState<DeviceView[]>([]);
  const [rec, setRec] = useState<{ backup: boolean; enabled: boolean } | null>(null);
  const [shownKey, setShownKey] = useState('');
  const [pass, setPass] = useState('');
  const [recKey, setRecKey] = useState('');
  const [recNote, setRecNote] = useState<{ ok?: string; error?: string }>({});
  const [other, setOther] = useState('');
  const [theirs, setTheirs] = useState<{ user: string; devices: DeviceView[]; verified: boolean } | null>(null);
  const [otherNote, setOtherNote] = useState<{ ok?: string; error?: string }>({});
  const [filePass, setFilePass] = useState('');
  const [fileNote, setFileNote] = useState<{ ok?: string; error?: string }>({});
  const [download, setDownload] = useState('');

  useEffect(() => {
    if (status !== 'ready') return;
    devicesOf(me).then(setMine, () => undefined);
    recoveryState().then(setRec, () => undefined);
    if (theirs) {
      const u = theirs.user;
      Promise.all([devicesOf(u), userVerified(u)]).then(([devices, verified]) => setTheirs({ user: u, devices, verified }), () => undefined);
    }
    // theirs is refreshed, not a trigger.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status, tick, me]);

  if (status !== 'ready') {
    return (
      <section className="card bg-base-200" aria-labelledby="sec-h">
        <div className="card-body gap-3">
          <h2 id="sec-h" className="card-title text-lg">
            Security
          </h2>
          <p className="text-sm">Messages in encrypted rooms and direct messages are readable only on your and the other members' devices.</p>
          {status === 'error' && <Note error={cryptoError} />}
          <button type="button" className="btn btn-primary btn-sm w-fit" disabled={status === 'loading'} onClick={() => void loadCrypto().catch(() => undefined)}>
            {status === 'loading' ? 'Loading encryption…' : 'Set up encryption'}
          </button>
        </div>
      </section>
    );
  }

  const makeKey = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setShownKey(await setUpRecovery(pass));
      setPass('');
      setRecNote({});
      setRec(await recoveryState());
    } catch (err) {
      setRecNote({ error: msg(err) });
    }
  };
  const doRestore = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const text = recKey.trim();
      const n = await restore(/^E[sS]/.test(text) && text.replace(/\s/g, '').length >= 48 ? { recoveryKey: text } : { passphrase: text });
      setRecKey('');
      setRecNote({ ok: `Restored ${n} message keys from the backup.` });
      setRec(await recoveryState());
    } catch (err) {
      setRecNote({ error: msg(err) });
    }
  };
  const lookUp = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const u = other.trim();
      const [devices, verified] = await Promise.all([devicesOf(u), userVerified(u)]);
      setTheirs({ user: u, devices, verified });
      setOtherNote(devices.length ? {} : { error: 'No devices found for that user.' });
    } catch (err) {
      setOtherNote({ error: msg(err) });
    }
  };
  const doExport = async () => {
    try {
      const text = await exportKeysFile(filePass);
      if (download) URL.revokeObjectURL(download);
      setDownload(URL.createObjectURL(new Blob([text], { type: 'text/plain' })));
      setFileNote({ ok: 'Your keys are ready to save.' });
    } catch (err) {
      setFileNote({ error: msg(err) });
    }
  };
  const doImport = async (file: File | undefined) => {
    if (!file) return;
    try {
      const n = await importKeysFile(await file.text(), filePass);
      setFileNote({ ok: `Imported ${n} message keys.` });
    } catch (err) {
      setFileNote({ error: `Could not import: ${msg(err)}` });
    }
  };

  return (
    <section className="card bg-base-200" aria-labelledby="sec-h">
      <div className="card-body gap-4">
        <h2 id="sec-h" className="card-title text-lg">
          Security
        </h2>

        <div className="flex flex-col gap-2">
          <h3 className="font-semibold">Recovery</h3>
          {shownKey ? (
            <div className="alert flex-col items-start" role="region" aria-label="Your recovery key">
              <p>This is your recovery key. Save it somewhere safe: it is shown only once, and it is the only way to read your history on a new device when none of your devices is at hand.</p>
              <code className="text-lg break-all select-all" data-recovery-key>
                {shownKey}
              </code>
              <button type="button" className="btn btn-sm" onClick={() => setShownKey('')}>
                I saved my recovery key
              </button>
            </div>
          ) : rec?.enabled ? (
            <p className="text-sm">Key backup is on: your message keys are kept on your node, encrypted to your recovery key.</p>
          ) : null}
          {!shownKey && rec && !rec.backup && (
            <form onSubmit={makeKey} className="flex flex-col gap-2">
              <p className="text-sm">Back up your message keys so that a new device can read your history.</p>
              <label className="form-control">
                <span className="label-text mb-1 block">Passphrase (optional; you can use the key alone)</span>
                <input className="input input-bordered input-sm w-full" type="password" autoComplete="new-password" value={pass} onChange={(e) => setPass(e.target.value)} />
              </label>
              <button type="submit" className="btn btn-primary btn-sm w-fit">
                Set up recovery
              </button>
            </form>
          )}
          {rec?.backup && !rec.enabled && (
            <form onSubmit={doRestore} className="flex flex-col gap-2">
              <p className="text-sm">This device cannot read the messages sent before it signed in. Enter your recovery key (or passphrase) to restore them.</p>
              <label className="form-control">
                <span className="label-text mb-1 block">Recovery key or passphrase</span>
                <input className="input input-bordered input-sm w-full" autoComplete="off" required value={recKey} onChange={(e) => setRecKey(e.target.value)} />
              </label>
              <button type="submit" className="btn btn-primary btn-sm w-fit">
                Restore
              </button>
            </form>
          )}
          <Note {...recNote} />
        </div>

        <div className="flex flex-col gap-2">
          <h3 className="font-semibold">Your devices</h3>
          <DeviceList user={me} devices={mine} me onChange={() => void devicesOf(me).then(setMine, () => undefined)} />
        </div>

        <form onSubmit={lookUp} className="flex flex-col gap-2">
          <h3 className="font-semibold">Verify someone</h3>
          <label className="form-control">
            <span className="label-text mb-1 block">User ID</span>
            <input className="input input-bordered input-sm w-full" placeholder="name@node" value={other} onChange={(e) => setOther(e.target.value)} required />
          </label>
          <button type="submit" className="btn btn-sm w-fit">
            Show devices
          </button>
          <Note {...otherNote} />
          {theirs && (
            <>
              <p className="text-sm" data-user-verified={theirs.verified}>
                {theirs.verified ? `You have verified ${theirs.user}.` : `You have not verified ${theirs.user}.`}
              </p>
              <DeviceList user={theirs.user} devices={theirs.devices} me={false} />
            </>
          )}
        </form>

        <div className="flex flex-col gap-2">
          <h3 className="font-semibold">Key file</h3>
          <label className="form-control">
            <span className="label-text mb-1 block">File passphrase</span>
            <input className="input input-bordered input-sm w-full" type="password" value={filePass} onChange={(e) => setFilePass(e.target.value)} />
          </label>
          <div className="flex flex-wrap gap-2 items-center">
            <button type="button" className="btn btn-sm" disabled={filePass.length < 8} onClick={() => void doExport()}>
              Export keys
            </button>
            {download && (
              <a className="link" href={download} download="hearth-keys.txt">
                Save hearth-keys.txt
              </a>
            )}
            <label className="btn btn-sm">
              Import keys
              <input type="file" className="hidden" accept=".txt,text/plain" disabled={filePass.length < 8} onChange={(e) => void doImport(e.target.files?.[0])} />
            </label>
          </div>
          <Note {...fileNote} />
        </div>
      </div>
    </section>
  );
}
