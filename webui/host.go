package webui

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// hosts knows the names the node is served under, and the browser
// origins it trusts.
//
// A request whose Host is not one of them is refused (421): a page on
// attacker.example whose name is rebound to this node's address (DNS
// rebinding) reaches the node with Host attacker.example, and without
// this check it would be same-origin with the node in the browser's
// eyes. Loopback names and IP literals are always served: they cannot be
// rebound, and they are how a node is reached before it has a name.
type hosts struct {
	names   map[string]bool // host or host:port, lower case
	origins map[string]bool // scheme://host[:port], lower case
}

func newHosts(publicURLs, extraOrigins []string) (*hosts, error) {
	h := &hosts{names: map[string]bool{}, origins: map[string]bool{}}
	for _, raw := range publicURLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public URL %q: want scheme://host[:port]", raw)
		}
		host := strings.ToLower(u.Host)
		h.names[host] = true
		if u.Port() == "" || u.Port() == defaultPort(u.Scheme) {
			name := strings.ToLower(u.Hostname())
			h.names[name] = true
			h.names[net.JoinHostPort(name, defaultPort(u.Scheme))] = true
		}
		h.origins[u.Scheme+"://"+host] = true
	}
	for _, o := range extraOrigins {
		h.origins[strings.TrimRight(strings.ToLower(o), "/")] = true
	}
	return h, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// unbindable reports whether a host name cannot be rebound by DNS: an IP
// literal or a loopback name.
func unbindable(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// hostAllowed reports whether the node serves the request's Host.
func (h *hosts) hostAllowed(r *http.Request) bool {
	host := strings.ToLower(r.Host)
	return host == "" || unbindable(host) || h.names[host]
}

// originAllowed reports whether a browser Origin may use the API with
// credentials (open WebSockets, spend the refresh cookie). An absent
// Origin is allowed: non-browser clients do not send one, and browsers
// always do on WebSocket upgrades and cross-site POSTs. Otherwise the
// origin must be configured (a --public-url or --allow-origin), or be
// the request's own origin under a name that cannot be rebound. The
// request's own Host alone proves nothing: under DNS rebinding the
// attacker's page and its requests share the attacker's name.
func (h *hosts) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if h.origins[strings.ToLower(u.Scheme+"://"+u.Host)] {
		return true
	}
	return strings.EqualFold(u.Host, r.Host) && unbindable(u.Host)
}

// isJSON reports whether a request declares a JSON body.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
