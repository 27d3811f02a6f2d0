import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/app';
import { describeError } from '../api/errors';

/** AuthScreen is the log-in and sign-up form. */
export function AuthScreen({ mode }: { mode: 'login' | 'signup' }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signup = mode === 'signup';
  // Sign-up follows the node's registration mode (API.md §8): an invite
  // token field when it asks for one (filled from an invite link's
  // ?token=), a plain sentence when sign-up is closed.
  const [params] = useSearchParams();
  const [token, setToken] = useState(params.get('token') ?? '');
  const [registration, setRegistration] = useState<'open' | 'token' | 'closed'>('open');
  useEffect(() => {
    if (!signup) return;
    api
      .node()
      .then((n) => setRegistration(n.registration ?? 'open'))
      .catch(() => undefined);
  }, [signup]);
  const closed = signup && registration === 'closed';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (signup) await api.register(username.trim(), password, displayName.trim(), token.trim());
      else await api.login(username.trim(), password);
    } catch (err) {
      setError(describeError(err, signup ? (registration === 'token' ? 'signupToken' : 'signup') : 'login'));
      setBusy(false);
    }
  };

  return (
    <main className="min-h-full flex items-center justify-center p-4 bg-base-200">
      <form onSubmit={submit} className="card bg-base-100 w-full max-w-sm shadow-md" aria-labelledby="auth-title">
        <div className="card-body gap-3">
          <h1 id="auth-title" className="card-title text-2xl">
            <img src="/favicon.svg" alt="" className="w-8 h-8" /> {signup ? 'Create your Hearth account' : 'Log in to Hearth'}
          </h1>
          <label className="form-control w-full">
            <span className="label-text mb-1 block">Username</span>
            <input
              className="input input-bordered w-full"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              required
              minLength={3}
              maxLength={32}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </label>
          {signup && (
            <label className="form-control w-full">
              <span className="label-text mb-1 block">Display name</span>
              <input
                className="input input-bordered w-full"
                name="displayName"
                autoComplete="nickname"
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
              />
            </label>
          )}
          <label className="form-control w-full">
            <span className="label-text mb-1 block">Password</span>
            <input
              className="input input-bordered w-full"
              type="password"
              name="password"
              autoComplete={signup ? 'new-password' : 'current-password'}
              required
              minLength={signup ? 8 : 1}
              maxLength={72}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          {signup && registration === 'token' && (
            <label className="form-control w-full">
              <span className="label-text mb-1 block">Invite token</span>
              <input
                className="input input-bordered w-full"
                name="token"
                autoComplete="off"
                autoCapitalize="none"
                required
                value={token}
                onChange={(e) => setToken(e.target.value)}
              />
              <span className="label-text-alt mt-1 block opacity-80">This node signs up people with an invite from its admins.</span>
            </label>
          )}
          {closed && (
            <div role="status" className="alert alert-warning text-sm py-2">
              Sign-up is closed on this node. Ask its admins for an account, or use another node.
            </div>
          )}
          {error && (
            <div role="alert" className="alert alert-error text-sm py-2">
              {error}
            </div>
          )}
          <button type="submit" className="btn btn-primary w-full" disabled={busy || closed}>
            {signup ? 'Sign up' : 'Log in'}
          </button>
          <p className="text-sm text-center">
            {signup ? (
              <>
                Have an account? <Link className="link" to="/">Log in instead</Link>
              </>
            ) : (
              <>
                New here? <Link className="link" to="/signup">Create an account</Link>
              </>
            )}
          </p>
          <p className="text-xs text-center opacity-80">
            <Link className="link" to="/node">About this node</Link>
          </p>
        </div>
      </form>
    </main>
  );
}
