package node

import "errors"

// Sentinel errors. Callers wrap them with the operation
// (fmt.Errorf("join room %s: %w", id, ErrForbidden)); the HTTP layer maps
// each to one status and API error code.
var (
	// ErrInvalid means the request or event is malformed or breaks a rule on
	// its shape (a bad username, an empty body, an unknown event version).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnauthenticated means credentials are missing, wrong or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means the caller is known but may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound means the thing does not exist or is not visible to the
	// caller (private rooms answer ErrNotFound to non-members).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the thing already exists (a taken username).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge means a body or event is over its limit.
	ErrTooLarge = errors.New("too large")
	// ErrQuota means a user's storage quota would be exceeded.
	ErrQuota = errors.New("quota exceeded")
	// ErrRateLimited means the caller must slow down.
	ErrRateLimited = errors.New("rate limited")
	// ErrLimit means a quota is used up (rooms a user may create or join,
	// reactions on a message, connections): waiting does not help, freeing
	// something or an operator raising the limit does.
	ErrLimit = errors.New("limit reached")
	// ErrPending means an event cannot be decided yet: the room or the
	// sender's membership has not arrived. Federation holds such events
	// until history sync settles them.
	ErrPending = errors.New("pending: authorisation not yet decidable")
	// ErrSuperseded marks a refusal (it is also ErrForbidden) of an event
	// whose sender held the right shortly before the event's position: a
	// ban, kick or demotion raced it. Federation drops such events without
	// blaming the peer that relayed them, which may simply not have
	// received the removal yet.
	ErrSuperseded = errors.New("superseded")
	// ErrDuplicate means the event is already stored; it is not an error
	// for the sender, and gossip ignores it.
	ErrDuplicate = errors.New("duplicate event")
	// ErrUnavailable means the node cannot take writes for now (its disk
	// is nearly full); reads still work and the client may retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrGone means a thing that existed is gone for good: a push
	// subscription its push service no longer knows (node/push.go).
	ErrGone = errors.New("gone")
	// ErrClosed means the node is shutting down.
	ErrClosed = errors.New("node closed")
	// ErrPolicy means this node's operator refuses the thing: an event or
	// a request of a node the federation policy does not allow, or of a
	// room closed on this node. It is not the sender's fault, so
	// transports drop it without penalising whoever relayed it.
	ErrPolicy = errors.New("refused by this node's policy")
)

// ErrWrongPassword is UpdateMe's answer to a wrong old password (a 403),
// named so that the caller can count it as a failed guess.
var ErrWrongPassword error = &Error{Kind: ErrForbidden, Message: "old password is wrong"}

// Error carries a human message for the API next to a sentinel kind, so a
// 4xx body can say exactly what was wrong without leaking internals.
type Error struct {
	Kind    error  // one of the sentinels above
	Message string // a lower-case sentence safe to show to the client
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, msg string) error { return &Error{Kind: kind, Message: msg} }

// supersededError is a refusal that is both ErrForbidden (for clients)
// and ErrSuperseded (for federation).
type supersededError struct{ msg string }

func (e *supersededError) Error() string { return e.msg }

func (e *supersededError) Is(target error) bool {
	return target == ErrForbidden || target == ErrSuperseded
}

func superseded(msg string) error { return &supersededError{msg: msg} }
