package webui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// apiError is the body of every error response (API.md §3).
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorCode maps a domain error to an HTTP status and API code. It is the
// one place where statuses are chosen.
func errorCode(err error) (int, string) {
	switch {
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, node.ErrInvalid):
		return http.StatusBadRequest, "invalid_argument"
	case errors.Is(err, node.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, node.ErrForbidden), errors.Is(err, node.ErrPolicy):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, node.ErrLimit):
		return http.StatusForbidden, "limit_exceeded"
	case errors.Is(err, node.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, node.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, node.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, node.ErrQuota):
		return http.StatusRequestEntityTooLarge, "quota_exceeded"
	case errors.Is(err, node.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, node.ErrClosed), errors.Is(err, node.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

// publicMessage is the sentence shown to the client: the domain's own
// message for expected errors, a fixed one for internal ones.
func publicMessage(err error, status int) string {
	var de *node.Error
	if errors.As(err, &de) && (status < 500 || errors.Is(err, node.ErrUnavailable)) {
		return de.Message
	}
	switch status {
	case http.StatusInternalServerError:
		return "internal error"
	case http.StatusServiceUnavailable:
		return "the node is busy or shutting down; try again"
	case http.StatusNotFound:
		return "not found"
	case http.StatusUnauthorized:
		return "authentication required"
	case http.StatusForbidden:
		return "not allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "too many requests; slow down"
	default:
		return "bad request"
	}
}

// errMediaType refuses a request body that is not declared JSON.
var errMediaType = &node.Error{Kind: node.ErrInvalid, Message: "the request body must be JSON, sent as Content-Type: application/json"}

// rateLimitError carries how long the client should wait.
type rateLimitError struct{ after time.Duration }

func (e *rateLimitError) Error() string { return "too many requests; slow down" }
func (e *rateLimitError) Unwrap() error { return node.ErrRateLimited }

// writeError answers with the API error body. Internal errors are logged
// once here, with the request, and shown only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorCode(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusTooManyRequests {
		s.hub.observer().RateLimited("http")
	}
	var rl *rateLimitError
	if errors.As(err, &rl) {
		secs := int(rl.after.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
	writeErrorCode(w, status, code, publicMessage(err, status))
}

// respond finishes a handler: err as an API error, else v with status
// (204 No Content writes no body).
func (s *Server) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, v)
	}
}

func writeErrorCode(w http.ResponseWriter, status int, code, msg string) {
	var body apiError
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
