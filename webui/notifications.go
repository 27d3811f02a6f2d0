package webui

import (
	"net/http"

	"github.com/hearth-chat/hearth/node"
)

// Notification settings and Web Push subscriptions (docs/api.md,
// "Notifications"; docs/notifications.md).
func (s *Server) notificationRoutes() {
	s.handle("/api/v1/notifications", methods{"GET": s.authed(s.getNotifications), "PUT": s.authed(s.putNotifications)})
	s.handle("/api/v1/rooms/{roomID}/notifications", methods{"GET": s.authed(s.getRoomNotify), "PUT": s.authed(s.putRoomNotify)})
	s.handle("/api/v1/push/vapid", methods{"GET": s.getVAPID})
	s.handle("/api/v1/push/subscriptions", methods{"GET": s.authed(s.listPushSubs), "POST": s.authed(s.addPushSub)})
	s.handle("/api/v1/push/subscriptions/{subID}", methods{"DELETE": s.authed(s.deletePushSub)})
}

func (s *Server) getNotifications(w http.ResponseWriter, r *http.Request) {
	ns, err := s.node.NotifySettings(r.Context(), userOf(r))
	s.respond(w, r, http.StatusOK, ns, err)
}

func (s *Server) putNotifications(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DND      *bool  `json:"dnd"`
		DNDUntil *int64 `json:"dndUntil"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.DND == nil {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "dnd (true or false) is required")
		return
	}
	p := node.NotifyPrefs{DND: *req.DND}
	if req.DNDUntil != nil {
		p.DNDUntil = *req.DNDUntil
	}
	ns, err := s.node.SetNotifyPrefs(r.Context(), userOf(r), p)
	s.respond(w, r, http.StatusOK, ns, err)
}

func (s *Server) getRoomNotify(w http.ResponseWriter, r *http.Request) {
	rn, err := s.node.RoomNotify(r.Context(), userOf(r), roomID(r))
	s.respond(w, r, http.StatusOK, rn, err)
}

func (s *Server) putRoomNotify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Level string `json:"level"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rn, err := s.node.SetRoomNotify(r.Context(), userOf(r), roomID(r), req.Level)
	s.respond(w, r, http.StatusOK, rn, err)
}

// getVAPID answers the node's VAPID public key; it is public (browsers
// subscribe with it), so no token is needed.
func (s *Server) getVAPID(w http.ResponseWriter, r *http.Request) {
	key, err := s.node.PushKey()
	s.respond(w, r, http.StatusOK, map[string]string{"publicKey": key}, err)
}

// pushSubView is a subscription as the API shows it: without its keys.
type pushSubView struct {
	ID        string        `json:"id"`
	Endpoint  string        `json:"endpoint"`
	Device    node.DeviceID `json:"deviceId,omitempty"`
	CreatedAt int64         `json:"createdAt"`
}

func viewSub(p *node.PushSubscription) pushSubView {
	return pushSubView{ID: p.ID, Endpoint: p.Endpoint, Device: p.Device, CreatedAt: p.CreatedAt}
}

func (s *Server) listPushSubs(w http.ResponseWriter, r *http.Request) {
	subs, err := s.node.PushSubscriptions(r.Context(), userOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]pushSubView, 0, len(subs))
	for _, p := range subs {
		out = append(out, viewSub(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": out})
}

// addPushSub registers a browser's subscription: the body is what
// PushSubscription.toJSON() gives ({"endpoint", "keys": {"p256dh",
// "auth"}, "expirationTime"}).
func (s *Server) addPushSub(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Endpoint == "" || req.Keys.P256dh == "" || req.Keys.Auth == "" {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "endpoint, keys.p256dh and keys.auth are required")
		return
	}
	dev, err := s.device(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, created, err := s.node.Subscribe(r.Context(), userOf(r), node.PushSubscribe{
		Endpoint: req.Endpoint, P256dh: req.Keys.P256dh, Auth: req.Keys.Auth, Device: dev,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, viewSub(sub))
}

func (s *Server) deletePushSub(w http.ResponseWriter, r *http.Request) {
	err := s.node.Unsubscribe(r.Context(), userOf(r), r.PathValue("subID"))
	s.respond(w, r, http.StatusNoContent, nil, err)
}
