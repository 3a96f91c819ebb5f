package room

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Origins decides which web pages may act with a visitor's session cookie:
// a browser sends the cookie whoever's page asks, and names that page in
// the Origin header. The server's own pages are those of its public URL's
// scheme whose host is the public URL's or the request's own (a proxy that
// keeps the Host header); another scheme is another origin, so a page
// served over plain HTTP (where a network attacker can change it) cannot
// drive a visitor's HTTPS session, nor the other way round. Extra patterns
// admit other sites' pages to WebSockets. Rooms use it for their sockets;
// cmd hands the same policy to commerce (its notification socket and its
// cookie-authenticated writes), which must not import room.
//
// A nil *Origins knows no public URL: the request's own scheme (TLS or
// not) and host are the server's.
type Origins struct {
	scheme, host string // of the public URL; "" when unknown
	patterns     []string
	any          bool
}

// NewOrigins returns the policy of a server reached at publicURL
// ("https://shop.example"; "" or a malformed one: the request's own) that
// also lets pages matching extra open WebSockets. A pattern is a
// path.Match pattern of a host ("shop.example", "*.example.com") or of a
// scheme and host ("https://*.example.com"); "*" admits every origin
// (development only).
func NewOrigins(publicURL string, extra []string) *Origins {
	o := &Origins{}
	if u, err := url.Parse(publicURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		o.scheme = strings.ToLower(u.Scheme)
		o.host = canonicalHost(o.scheme, u.Host)
	}
	for _, p := range extra {
		if p == "*" {
			o.any = true
		}
		o.patterns = append(o.patterns, strings.ToLower(p))
	}
	return o
}

// AllowSocket reports whether a WebSocket handshake may go ahead: it
// carries no Origin (not a page: such clients send tokens, which no page
// can borrow), or that of the server's own pages or of an extra pattern.
// Refuse the others with 403 before the upgrade, and pass
// websocket.AcceptOptions{InsecureSkipVerify: true} to Accept after it: the
// library's own check compares hosts only.
func (o *Origins) AllowSocket(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || o.Same(origin, r) || o.extra(origin)
}

// Same reports whether origin (an Origin or Referer value) is one of the
// server's own pages for request r: the same scheme and host.
func (o *Origins) Same(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	want := "http"
	switch {
	case o != nil && o.scheme != "":
		want = o.scheme
	case r.TLS != nil:
		want = "https"
	}
	if scheme != want {
		return false
	}
	host := canonicalHost(scheme, u.Host)
	return host == canonicalHost(scheme, r.Host) || (o != nil && host == o.host)
}

// extra reports whether origin matches one of the extra patterns.
func (o *Origins) extra(origin string) bool {
	if o == nil {
		return false
	}
	if o.any {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, p := range o.patterns {
		target := host
		if strings.Contains(p, "://") {
			target = strings.ToLower(u.Scheme) + "://" + host
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

// canonicalHost lower-cases host and drops the scheme's default port.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if (scheme == "http" && strings.HasSuffix(host, ":80")) || (scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return host
}
