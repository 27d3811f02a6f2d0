package node

import "context"

// OutboxDepth counts the to-device messages waiting in the outboxes
// towards other nodes, and the nodes with any waiting (for metrics).
func (n *Node) OutboxDepth(ctx context.Context) (messages, nodes int) {
	_ = n.store.View(ctx, func(tx Tx) error {
		return tx.EachOutboxState(func(s *OutboxState) bool {
			if s.Count > 0 {
				messages += s.Count
				nodes++
			}
			return true
		})
	})
	return messages, nodes
}
