package webui

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/hearth-chat/hearth/node"
)

// Media endpoints (API.md §6; docs/api.md "Media").
//
// How browsers authenticate media loads: <img>, <video> and <audio>
// cannot send an Authorization header, so the UI asks for a media cookie
// (POST /api/v1/media/cookie, with its bearer token, again whenever it
// refreshes the token). The cookie holds a token of its own, signed with a
// key derived for this purpose only (so it is useless as a bearer token),
// naming the session (so logout ends it at once) and expiring with the
// access token; it is HttpOnly (script cannot read it), SameSite=Strict
// (no other site's page can make the browser send it) and sent only to
// /api/v1/media. Only the read-only GET endpoints accept it; uploads need
// the bearer header, so no cross-site form can upload. This keeps what
// blob URLs would lose (streaming, Range requests for seeking in videos,
// the browser's cache under a stable URL) without signed URLs, which
// either change often (and defeat the cache) or live long and cannot be
// revoked when pasted or logged.

const (
	mediaCookie = "hearth_media"
	// uploadTimeout bounds reading one upload (50 MiB at ~0.5 Mbit/s);
	// the uploads in progress are capped per user and per node.
	uploadTimeout = 15 * time.Minute
	// downloadTimeout bounds writing one download or range.
	downloadTimeout = 15 * time.Minute
	// mediaCacheAge is how long browsers may keep a file: its ID is its
	// content, so it never changes.
	mediaCacheAge = 365 * 24 * time.Hour
	// maxThumbSide bounds the w and h a client may ask for.
	maxThumbSide = 10_000
)

func mediaID(r *http.Request) node.MediaID { return node.MediaID(r.PathValue("mediaID")) }

// mediaRoutes registers the media endpoints.
func (s *Server) mediaRoutes() {
	s.handle("/api/v1/media", methods{"POST": s.authed(s.uploadMedia)})
	s.handle("/api/v1/media/cookie", methods{"POST": s.authed(s.mediaCookie)})
	s.handle("/api/v1/media/{mediaID}", methods{"GET": s.mediaAuthed(s.downloadMedia)})
	s.handle("/api/v1/media/{mediaID}/thumbnail", methods{"GET": s.mediaAuthed(s.thumbnail)})
}

// mediaAuthed is authed for media reads: the bearer header, or else the
// media cookie.
func (s *Server) mediaAuthed(h http.HandlerFunc) http.HandlerFunc {
	bearer := s.authed(h)
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(mediaCookie)
		if r.Header.Get("Authorization") != "" || err != nil || s.cfg.MediaTokens == nil {
			bearer(w, r)
			return
		}
		claims, err := s.cfg.MediaTokens.Verify(c.Value)
		if err != nil {
			writeErrorCode(w, http.StatusUnauthorized, "unauthenticated", "media cookie is invalid or expired")
			return
		}
		u := node.UserID(claims.User)
		if err := s.node.CheckSession(r.Context(), claims.Session, u); err != nil {
			s.writeError(w, r, err)
			return
		}
		if ok, after := s.limits.userAllow(string(u)); !ok {
			s.writeError(w, r, &rateLimitError{after})
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxUser, u), ctxSession, claims.Session)
		h(w, r.WithContext(ctx))
	}
}

// mediaCookie sets the cookie that lets the browser load media of this
// session in <img> and <video> elements.
func (s *Server) mediaCookie(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MediaTokens == nil {
		writeErrorCode(w, http.StatusNotFound, "not_found", "media cookies are off on this node")
		return
	}
	tok, exp, err := s.cfg.MediaTokens.Issue(string(userOf(r)), sessionOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: mediaCookie, Value: tok, Path: "/api/v1/media",
		Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTimeout))
	m, err := s.node.Upload(r.Context(), userOf(r), node.UploadParams{
		Name: r.URL.Query().Get("name"), Length: r.ContentLength, Body: r.Body,
	})
	if err != nil {
		// The rest of a refused body is not worth reading: close the
		// connection after the answer instead.
		w.Header().Set("Connection", "close")
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) downloadMedia(w http.ResponseWriter, r *http.Request) {
	// From here: the file may first be fetched from another node.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
	m, f, err := s.node.OpenMedia(r.Context(), userOf(r), mediaID(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	name := node.MediaFileName(m)
	if n := r.URL.Query().Get("name"); n != "" {
		name = n // the attachment's own name, when the client knows it
	}
	serveMedia(w, r, m.Type, name, `"`+string(m.ID)+`"`, f)
}

func (s *Server) thumbnail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	wd, err1 := strconv.Atoi(q.Get("w"))
	ht, err2 := strconv.Atoi(q.Get("h"))
	if err1 != nil || err2 != nil || wd < 1 || ht < 1 || wd > maxThumbSide || ht > maxThumbSide {
		writeErrorCode(w, http.StatusBadRequest, "invalid_argument", "w and h must be whole numbers of pixels")
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
	m, f, typ, err := s.node.Thumbnail(r.Context(), userOf(r), mediaID(r), wd, ht)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	serveMedia(w, r, typ, "thumbnail-"+node.MediaFileName(m), `"`+string(m.ID)+"-"+strconv.Itoa(wd)+"x"+strconv.Itoa(ht)+`"`, f)
}

// serveMedia answers with a file: Range requests, a strong ETag (the ID
// is the content), private caching for a year, and a sandbox. Only types
// a browser shows and cannot run are inline; anything else (HTML, SVG,
// XML, scripts, PDFs, unknown types) is a download.
func serveMedia(w http.ResponseWriter, r *http.Request, typ, name, etag string, f io.ReadSeeker) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
	h := w.Header()
	disposition := "attachment"
	if inlineType(typ) {
		disposition = "inline"
	}
	if cd := mime.FormatMediaType(disposition, map[string]string{"filename": name}); cd != "" {
		h.Set("Content-Disposition", cd)
	} else {
		h.Set("Content-Disposition", disposition)
	}
	h.Set("Content-Type", typ)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(mediaCacheAge.Seconds()))+", immutable")
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// inlineType reports whether browsers may show a type in the page:
// images they render without running anything, audio and video.
func inlineType(t string) bool {
	if node.InlineImage(t) {
		return true
	}
	switch t {
	case "video/mp4", "video/webm", "video/ogg", "video/quicktime",
		"audio/mpeg", "audio/ogg", "audio/wav", "audio/webm", "audio/mp4", "audio/flac", "audio/aac", "audio/x-m4a":
		return true
	}
	return t == "image/bmp"
}
