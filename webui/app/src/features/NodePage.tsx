import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import type { NodeInfo } from '../api/types';
import { api } from '../api/app';
import { describeError } from '../api/errors';

/** NodePage shows the node this UI is served by: its identity, peers and addresses. */
export function NodePage({ standalone }: { standalone?: boolean }) {
  const [node, setNode] = useState<NodeInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const load = () =>
      api
        .node()
        .then((n) => (setNode(n), setError(null)))
        .catch((e) => setError(describeError(e, 'load')));
    load();
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, []);
  const peers = node ? (Array.isArray(node.peers) ? node.peers.length : (node.peers ?? 0)) : 0;
  return (
    <div className={`flex-1 overflow-y-auto ${standalone ? 'min-h-full bg-base-200' : ''}`}>
      <div className="max-w-2xl mx-auto p-4 flex flex-col gap-4">
        <header className="flex items-center gap-2">
          <Link to="/" className={`btn btn-ghost btn-sm ${standalone ? '' : 'md:hidden'}`} aria-label="Back">
            ←
          </Link>
          <h1 className="text-2xl font-bold">This node</h1>
        </header>
        {error && (
          <p role="alert" className="alert alert-error text-sm">
            {error}
          </p>
        )}
        {!node && !error && <span className="loading loading-dots" aria-label="Loading" />}
        {node && (
          <div className="card bg-base-100 border border-base-300">
            <dl className="card-body gap-3">
              <div>
                <dt className="text-sm opacity-80">Name</dt>
                <dd className="font-semibold">{node.name}</dd>
              </div>
              <div>
                <dt className="text-sm opacity-80">Node ID</dt>
                <dd>
                  <code className="break-all" data-node-id>
                    {node.id}
                  </code>
                </dd>
              </div>
              <div>
                <dt className="text-sm opacity-80">Connected peers</dt>
                <dd data-peers>{peers}</dd>
              </div>
              <div>
                <dt className="text-sm opacity-80">Version</dt>
                <dd>{node.version}</dd>
              </div>
              <div>
                <dt className="text-sm opacity-80">Addresses</dt>
                <dd>
                  <ul className="flex flex-col gap-1">
                    {node.addrs.map((a) => (
                      <li key={a}>
                        <code className="text-xs break-all">{a}</code>
                      </li>
                    ))}
                  </ul>
                </dd>
              </div>
            </dl>
          </div>
        )}
      </div>
    </div>
  );
}
