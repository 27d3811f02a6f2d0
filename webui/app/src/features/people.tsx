// Small pieces about people shared by the member list and profile cards.
import { useStore } from '../store';

/** shortNode shortens a node ID (a libp2p peer ID) to its start and end. */
export function shortNode(node: string): string {
  return node.length > 16 ? `${node.slice(0, 8)}…${node.slice(-6)}` : node;
}

/** NodeName names a home node: "this node" for the user's own, else its shortened ID (full with full). */
export function NodeName({ node, full }: { node: string; full?: boolean }) {
  const mine = useStore((s) => s.session.user?.node === node);
  if (full) {
    return (
      <span data-node={node}>
        {mine && <span className="mr-1">This node ·</span>}
        <code className="break-all text-xs">{node}</code>
      </span>
    );
  }
  return (
    <span data-node={node} title={node}>
      {mine ? 'this node' : `on ${shortNode(node)}`}
    </span>
  );
}
