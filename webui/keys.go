package webui

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hearth-chat/hearth/node"
)

// End-to-end encryption endpoints (API.md §7): devices, the key
// directory, to-device messages and the key backup. Bodies are the Matrix
// client-server API's, so an OlmMachine's requests pass through as they
// are; node does the checking and the ID mapping.

// maxBigBody bounds the bodies that carry many keys or messages at once
// (sendToDevice of a room key to hundreds of devices, a backup batch).
const maxBigBody = 1 << 20

func (s *Server) keyRoutes() {
	s.handle("/api/v1/devices", methods{"GET": s.authed(s.listDevices)})
	s.handle("/api/v1/devices/{deviceId}", methods{"DELETE": s.authed(s.deleteDevice)})
	s.handle("/api/v1/keys/upload", methods{"POST": s.authed(s.uploadKeys)})
	s.handle("/api/v1/keys/query", methods{"POST": s.authed(s.queryKeys)})
	s.handle("/api/v1/keys/claim", methods{"POST": s.authed(s.claimKeys)})
	s.handle("/api/v1/keys/device_signing/upload", methods{"POST": s.authed(s.uploadCrossSigning)})
	s.handle("/api/v1/keys/signatures/upload", methods{"POST": s.authed(s.uploadSignatures)})
	s.handle("/api/v1/sendToDevice/{eventType}/{txnId}", methods{"PUT": s.authed(s.sendToDevice)})
	s.handle("/api/v1/room_keys/version", methods{"POST": s.authed(s.createBackup), "GET": s.authed(s.getBackup)})
	s.handle("/api/v1/room_keys/version/{version}", methods{
		"GET": s.authed(s.getBackup), "PUT": s.authed(s.updateBackup), "DELETE": s.authed(s.deleteBackup),
	})
	for _, p := range []string{"/api/v1/room_keys/keys", "/api/v1/room_keys/keys/{roomId}", "/api/v1/room_keys/keys/{roomId}/{sessionId}"} {
		s.handle(p, methods{"PUT": s.authed(s.putBackupKeys), "GET": s.authed(s.getBackupKeys), "DELETE": s.authed(s.deleteBackupKeys)})
	}
	s.handle("/api/v1/rooms/{roomID}/encryption", methods{"POST": s.authed(s.enableEncryption)})
}

// decodeUpTo reads a JSON body of at most limit bytes into v.
func decodeUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &node.Error{Kind: node.ErrTooLarge, Message: fmt.Sprintf("request body is over %d bytes", limit)}
		}
		return &node.Error{Kind: node.ErrInvalid, Message: "could not read request body"}
	}
	return decodeBytes(body, v)
}

// device is the device of the request's session.
func (s *Server) device(r *http.Request) (node.DeviceID, error) {
	return s.node.SessionDevice(r.Context(), sessionOf(r), userOf(r))
}

// writeRetry answers an error; a full inbox or outbox
// (node.ErrRateLimited from the domain) gets the Retry-After a 429 has.
func (s *Server) writeRetry(w http.ResponseWriter, r *http.Request, err error) {
	var rl *rateLimitError
	if errors.Is(err, node.ErrRateLimited) && !errors.As(err, &rl) {
		w.Header().Set("Retry-After", "10")
	}
	s.writeError(w, r, err)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	devs, err := s.node.Devices(r.Context(), userOf(r))
	s.respond(w, r, http.StatusOK, map[string]any{"devices": devs}, err)
}

// checkPassword guards a sensitive action: wrong passwords are throttled
// like failed logins, per user and per address. The tokens are taken
// before the password is checked and given back unless it was wrong, so
// concurrent guesses cannot all pass a check made before any is charged.
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, password string, do func() error) {
	name, _, _ := userOf(r).Split()
	resUser, ok, after := s.limits.loginUser.reserve(name)
	if !ok {
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	resAddr, ok, after := s.limits.loginAddr.reserve(clientAddr(r))
	if !ok {
		refund(resUser)
		s.writeError(w, r, &rateLimitError{after})
		return
	}
	err := do()
	var de *node.Error
	if !(errors.As(err, &de) && errors.Is(err, node.ErrForbidden) && de.Message == "wrong password") {
		refund(resUser, resAddr)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
		Auth     *struct {
			Password string `json:"password"`
		} `json:"auth"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Password == "" && req.Auth != nil {
		req.Password = req.Auth.Password
	}
	s.checkPassword(w, r, req.Password, func() error {
		ended, err := s.node.DeleteDevice(r.Context(), userOf(r), node.DeviceID(r.PathValue("deviceId")), req.Password)
		if err != nil {
			return err
		}
		for _, sid := range ended {
			s.hub.CloseSession(sid)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *Server) uploadKeys(w http.ResponseWriter, r *http.Request) {
	var req node.KeysUploadRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.device(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.node.UploadKeys(r.Context(), userOf(r), d, &req)
	s.respond(w, r, http.StatusOK, resp, err)
}

func (s *Server) queryKeys(w http.ResponseWriter, r *http.Request) {
	var req node.KeysQueryRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.node.QueryKeys(r.Context(), userOf(r), &req)
	s.respond(w, r, http.StatusOK, resp, err)
}

func (s *Server) claimKeys(w http.ResponseWriter, r *http.Request) {
	var req node.KeysClaimRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.node.ClaimKeys(r.Context(), userOf(r), &req)
	s.respond(w, r, http.StatusOK, resp, err)
}

func (s *Server) uploadCrossSigning(w http.ResponseWriter, r *http.Request) {
	var req node.CrossSigningUpload
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.checkPassword(w, r, req.Password, func() error {
		if err := s.node.UploadCrossSigning(r.Context(), userOf(r), &req); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return nil
	})
}

func (s *Server) uploadSignatures(w http.ResponseWriter, r *http.Request) {
	var req map[string]map[string]json.RawMessage
	if err := decodeUpTo(w, r, &req, maxBigBody); err != nil {
		s.writeError(w, r, err)
		return
	}
	failures, err := s.node.UploadSignatures(r.Context(), userOf(r), req)
	s.respond(w, r, http.StatusOK, map[string]any{"failures": failures}, err)
}

func (s *Server) sendToDevice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages map[string]map[string]json.RawMessage `json:"messages"`
	}
	if err := decodeUpTo(w, r, &req, maxBigBody); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.device(r)
	if err == nil {
		err = s.node.SendToDevice(r.Context(), userOf(r), d, r.PathValue("eventType"), r.PathValue("txnId"), req.Messages)
	}
	if err != nil {
		s.writeRetry(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) createBackup(w http.ResponseWriter, r *http.Request) {
	var req node.BackupVersionRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.node.CreateBackup(r.Context(), userOf(r), &req)
	s.respond(w, r, http.StatusOK, map[string]string{"version": v}, err)
}

func (s *Server) getBackup(w http.ResponseWriter, r *http.Request) {
	b, err := s.node.Backup(r.Context(), userOf(r), r.PathValue("version"))
	s.respond(w, r, http.StatusOK, b, err)
}

func (s *Server) updateBackup(w http.ResponseWriter, r *http.Request) {
	var req node.BackupVersionRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := s.node.UpdateBackup(r.Context(), userOf(r), r.PathValue("version"), &req)
	s.respond(w, r, http.StatusOK, struct{}{}, err)
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request) {
	err := s.node.DeleteBackup(r.Context(), userOf(r), r.PathValue("version"))
	s.respond(w, r, http.StatusOK, struct{}{}, err)
}

// putBackupKeys takes the three Matrix shapes: {"rooms": {room:
// {"sessions": {...}}}} for all, {"sessions": {...}} for one room, and
// one KeyBackupData for one session.
func (s *Server) putBackupKeys(w http.ResponseWriter, r *http.Request) {
	room, session := r.PathValue("roomId"), r.PathValue("sessionId")
	keys := &node.BackupKeys{Rooms: map[string]*node.RoomKeyBackup{}}
	var err error
	switch {
	case session != "":
		var one json.RawMessage
		err = decodeUpTo(w, r, &one, maxBigBody)
		keys.Rooms[room] = &node.RoomKeyBackup{Sessions: map[string]json.RawMessage{session: one}}
	case room != "":
		var rk node.RoomKeyBackup
		err = decodeUpTo(w, r, &rk, maxBigBody)
		keys.Rooms[room] = &rk
	default:
		err = decodeUpTo(w, r, keys, maxBigBody)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.node.PutBackupKeys(r.Context(), userOf(r), r.URL.Query().Get("version"), keys)
	s.respond(w, r, http.StatusOK, c, err)
}

// getBackupKeys streams the keys in the shape the path asks for, so a
// large backup is never held in memory whole.
func (s *Server) getBackupKeys(w http.ResponseWriter, r *http.Request) {
	room, session := r.PathValue("roomId"), r.PathValue("sessionId")
	version := r.URL.Query().Get("version")
	if session != "" {
		var data json.RawMessage
		err := s.node.EachBackupKey(r.Context(), userOf(r), version, room, session, func(k *node.BackupKey) bool {
			data = k.Data
			return false
		})
		s.respond(w, r, http.StatusOK, data, err)
		return
	}
	// Check the version before the 200 goes out.
	if _, err := s.node.Backup(r.Context(), userOf(r), version); err != nil || version == "" {
		if err == nil {
			err = &node.Error{Kind: node.ErrInvalid, Message: "version is required"}
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 32<<10)
	cur, first := "", true
	if room == "" {
		_, _ = bw.WriteString(`{"rooms":{`)
	} else {
		_, _ = bw.WriteString(`{"sessions":{`)
	}
	err := s.node.EachBackupKey(r.Context(), userOf(r), version, room, "", func(k *node.BackupKey) bool {
		if room == "" && k.Room != cur {
			if cur != "" {
				_, _ = bw.WriteString(`}},`)
			}
			rb, _ := json.Marshal(k.Room)
			_, _ = bw.Write(rb)
			_, _ = bw.WriteString(`:{"sessions":{`)
			cur, first = k.Room, true
		}
		if !first {
			_ = bw.WriteByte(',')
		}
		first = false
		sb, _ := json.Marshal(k.Session)
		_, _ = bw.Write(sb)
		_ = bw.WriteByte(':')
		_, _ = bw.Write(k.Data)
		return true
	})
	if err != nil {
		s.log.Error("stream backup keys", "err", err) // the 200 is out; the client sees truncated JSON
		return
	}
	if room == "" && cur != "" {
		_, _ = bw.WriteString(`}}`)
	}
	_, _ = bw.WriteString("}}\n")
	_ = bw.Flush()
}

func (s *Server) deleteBackupKeys(w http.ResponseWriter, r *http.Request) {
	c, err := s.node.DeleteBackupKeys(r.Context(), userOf(r), r.URL.Query().Get("version"), r.PathValue("roomId"), r.PathValue("sessionId"))
	s.respond(w, r, http.StatusOK, c, err)
}

func (s *Server) enableEncryption(w http.ResponseWriter, r *http.Request) {
	room, err := s.node.EnableEncryption(r.Context(), userOf(r), roomID(r))
	s.respond(w, r, http.StatusOK, room, err)
}
