import { useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, setAvatar, updateProfile } from '../api/app';
import { Avatar } from '../components/Avatar';
import { describeError } from '../api/errors';
import { useSession } from './session';
import { AdminLink } from './AdminPage';
import { useTheme, type ThemePref } from './theme';
import { LazySecurityPanel } from '../crypto/ui/lazy';
import { NotificationsPanel } from './NotificationsPanel';

function Status({ ok, error }: { ok?: string | null; error?: string | null }) {
  if (error)
    return (
      <p role="alert" className="text-danger text-sm">
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

export function SettingsPage() {
  const { user } = useSession();
  const { pref, setPref } = useTheme();
  const [name, setName] = useState(user?.displayName ?? '');
  const [nameMsg, setNameMsg] = useState<{ ok?: string; error?: string }>({});
  const [oldPw, setOldPw] = useState('');
  const [newPw, setNewPw] = useState('');
  const [pwMsg, setPwMsg] = useState<{ ok?: string; error?: string }>({});
  const [avMsg, setAvMsg] = useState<{ ok?: string; error?: string }>({});
  const [avBusy, setAvBusy] = useState<number | null>(null);
  const avInput = useRef<HTMLInputElement>(null);

  const changeAvatar = async (file: File | null) => {
    setAvMsg({});
    setAvBusy(0);
    try {
      await setAvatar(file, (f) => setAvBusy(f));
      setAvMsg({ ok: file ? 'Avatar saved.' : 'Avatar removed.' });
    } catch (err) {
      setAvMsg({ error: describeError(err, 'avatar') });
    } finally {
      setAvBusy(null);
    }
  };

  const saveName = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await updateProfile(name.trim());
      setNameMsg({ ok: 'Display name saved.' });
    } catch (err) {
      setNameMsg({ error: describeError(err, 'profile') });
    }
  };
  const savePw = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.updateMe({ password: { old: oldPw, new: newPw } });
      setOldPw('');
      setNewPw('');
      setPwMsg({ ok: 'Password changed.' });
    } catch (err) {
      setPwMsg({ error: describeError(err, 'password') });
    }
  };

  return (
    <div className="flex-1 overflow-y-auto">
      <div className="max-w-xl mx-auto p-4 flex flex-col gap-6">
        <header className="flex items-center gap-2">
          <Link to="/" className="btn btn-ghost btn-sm md:hidden" aria-label="Back to rooms">
            ←
          </Link>
          <h1 className="text-2xl font-bold">Settings</h1>
        </header>

        <form onSubmit={saveName} className="card bg-base-200">
          <div className="card-body gap-3">
            <h2 className="card-title text-lg">Profile</h2>
            <p className="text-sm opacity-80">
              Signed in as <code className="break-all">{user?.id}</code>
            </p>
            <div className="flex items-center gap-3 flex-wrap">
              {user && <Avatar id={user.id} name={user.displayName || user.username} />}
              <input
                ref={avInput}
                type="file"
                accept="image/png,image/jpeg,image/gif,image/webp,image/avif"
                className="hidden"
                aria-label="Avatar picture"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  e.target.value = '';
                  if (f) void changeAvatar(f);
                }}
              />
              <button type="button" className="btn btn-sm" disabled={avBusy !== null} onClick={() => avInput.current?.click()}>
                {user?.avatar ? 'Change avatar' : 'Upload avatar'}
              </button>
              {user?.avatar && (
                <button type="button" className="btn btn-sm btn-ghost" disabled={avBusy !== null} onClick={() => void changeAvatar(null)}>
                  Remove avatar
                </button>
              )}
              {avBusy !== null && <progress className="progress progress-primary w-24" value={Math.round(avBusy * 100)} max={100} aria-label="Uploading avatar" />}
            </div>
            <Status {...avMsg} />
            <label className="form-control">
              <span className="label-text mb-1 block">Display name</span>
              <input className="input input-bordered w-full" maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <Status {...nameMsg} />
            <div className="card-actions">
              <button type="submit" className="btn btn-primary btn-sm">
                Save
              </button>
            </div>
          </div>
        </form>

        <form onSubmit={savePw} className="card bg-base-200">
          <div className="card-body gap-3">
            <h2 className="card-title text-lg">Password</h2>
            <label className="form-control">
              <span className="label-text mb-1 block">Current password</span>
              <input className="input input-bordered w-full" type="password" autoComplete="current-password" required value={oldPw} onChange={(e) => setOldPw(e.target.value)} />
            </label>
            <label className="form-control">
              <span className="label-text mb-1 block">New password</span>
              <input
                className="input input-bordered w-full"
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
                maxLength={72}
                value={newPw}
                onChange={(e) => setNewPw(e.target.value)}
              />
            </label>
            <Status {...pwMsg} />
            <div className="card-actions">
              <button type="submit" className="btn btn-primary btn-sm">
                Change password
              </button>
            </div>
          </div>
        </form>

        <NotificationsPanel />

        {user && <LazySecurityPanel me={user.id} />}

        <fieldset className="card bg-base-200">
          <div className="card-body gap-2">
            <legend className="card-title text-lg">Theme</legend>
            {(['system', 'light', 'dark'] as ThemePref[]).map((p) => (
              <label key={p} className="flex items-center gap-2">
                <input type="radio" className="radio radio-sm" name="theme" checked={pref === p} onChange={() => setPref(p)} />
                {p === 'system' ? 'Follow system' : p === 'light' ? 'Light' : 'Dark'}
              </label>
            ))}
          </div>
        </fieldset>

        <div className="flex gap-2">
          <Link to="/node" className="btn btn-ghost btn-sm">
            About this node
          </Link>
          <AdminLink />
          <button type="button" className="btn btn-outline btn-sm md:hidden" onClick={() => api.logout().catch(() => undefined)}>
            Log out
          </button>
        </div>
      </div>
    </div>
  );
}
