// Package node is Hearth's domain: accounts and sessions, rooms and their
// membership rules, messages, receipts, presence and typing, and the signed
// events that carry every change to the shared world.
//
// The package knows nothing of HTTP, WebSockets, libp2p or Badger. It
// declares the small interfaces it consumes (Store, Notifier, Federation) and
// the outer packages satisfy them. A local node is a federation of one:
// every change is an Event, signed by the node key, applied to derived state
// and stored once; federation adds transport, not a second code path.
package node
