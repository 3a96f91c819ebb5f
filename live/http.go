package live

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Content types of WHIP and WHEP bodies.
const (
	MIMESDP      = "application/sdp"
	MIMESDPFrag  = "application/trickle-ice-sdpfrag"
	exposeHeader = "Location, ETag, Link, Accept-Patch, Retry-After"
)

// Handler serves WHIP and WHEP for an SFU.
type Handler struct {
	sfu *SFU
}

// NewHandler returns the HTTP side of s.
func NewHandler(s *SFU) *Handler { return &Handler{sfu: s} }

// Register adds the routes to g, the /api group:
//
//	POST, OPTIONS          /streams/:id/whip            publish (WHIP, RFC 9725; bearer stream key)
//	PATCH, DELETE, OPTIONS /streams/:id/whip/:session   trickle ICE / ICE restart, stop
//	POST, OPTIONS          /streams/:id/whep            watch (WHEP; anonymous)
//	PATCH, DELETE, OPTIONS /streams/:id/whep/:session   trickle ICE / ICE restart, leave
func (h *Handler) Register(g *echo.Group) {
	g.POST("/streams/:id/whip", h.wrap("whip", h.whipPost))
	g.OPTIONS("/streams/:id/whip", h.wrap("whip", h.options("POST, OPTIONS", true)))
	g.PATCH("/streams/:id/whip/:session", h.wrap("whip", h.whipPatch))
	g.DELETE("/streams/:id/whip/:session", h.wrap("whip", h.whipDelete))
	g.OPTIONS("/streams/:id/whip/:session", h.wrap("whip", h.options("PATCH, DELETE, OPTIONS", false)))
	g.POST("/streams/:id/whep", h.wrap("whep", h.whepPost))
	g.OPTIONS("/streams/:id/whep", h.wrap("whep", h.options("POST, OPTIONS", true)))
	g.PATCH("/streams/:id/whep/:session", h.wrap("whep", h.whepPatch))
	g.DELETE("/streams/:id/whep/:session", h.wrap("whep", h.whepDelete))
	g.OPTIONS("/streams/:id/whep/:session", h.wrap("whep", h.options("PATCH, DELETE, OPTIONS", false)))
}

// wrap adds CORS headers to every answer, and the headers some errors call
// for (WWW-Authenticate, Retry-After) before the shared error handler
// renders the body.
func (h *Handler) wrap(protocol string, fn echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h.cors(c)
		err := fn(c)
		if err == nil {
			return nil
		}
		hdr := c.Response().Header()
		status := http.StatusInternalServerError
		var se interface{ HTTPStatus() int }
		if errors.As(err, &se) {
			status = se.HTTPStatus()
		}
		if status == http.StatusUnauthorized {
			hdr.Set("WWW-Authenticate", `Bearer realm="liveshop"`)
		}
		var ra *retryAfter
		if errors.As(err, &ra) {
			hdr.Set("Retry-After", strconv.Itoa(ra.RetryAfterSeconds()))
		}
		h.sfu.metrics.rejected.WithLabelValues(protocol, strconv.Itoa(status)).Inc()
		return err
	}
}

func (h *Handler) cors(c echo.Context) {
	origin := c.Request().Header.Get("Origin")
	if origin == "" {
		return
	}
	allowed := h.sfu.cfg.CORSOrigins
	hdr := c.Response().Header()
	switch {
	case slices.Contains(allowed, "*"):
		hdr.Set("Access-Control-Allow-Origin", "*")
	case slices.Contains(allowed, origin):
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Add("Vary", "Origin")
	default:
		return
	}
	hdr.Set("Access-Control-Expose-Headers", exposeHeader)
}

// options answers CORS preflights (and plain OPTIONS) for a resource.
func (h *Handler) options(methods string, endpoint bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		hdr := c.Response().Header()
		hdr.Set("Allow", methods)
		hdr.Set("Access-Control-Allow-Methods", methods)
		hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		hdr.Set("Access-Control-Max-Age", "86400")
		if endpoint {
			hdr.Set("Accept-Post", MIMESDP)
		} else {
			hdr.Set("Accept-Patch", MIMESDPFrag)
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func streamID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("stream %q: %w", c.Param("id"), ErrNotFound)
	}
	return id, nil
}

func bearer(c echo.Context) string {
	scheme, token, ok := strings.Cut(c.Request().Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// readBody checks the content type and reads at most Config.MaxSDPBytes.
func (h *Handler) readBody(c echo.Context, want string) (string, error) {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if err != nil || mt != want {
		return "", fmt.Errorf("content type must be %s: %w", want, ErrUnsupportedMediaType)
	}
	limit := h.sfu.cfg.MaxSDPBytes
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return "", BadRequest("read body: %v", err)
	}
	if int64(len(body)) > limit {
		// Read on a little so the client gets the 413 rather than a reset
		// connection while it is still sending.
		_, _ = io.Copy(io.Discard, io.LimitReader(c.Request().Body, 1<<20))
		return "", fmt.Errorf("body exceeds %d bytes: %w", limit, ErrBodyTooLarge)
	}
	return string(body), nil
}

// created answers a POST: 201 with the answer SDP, the session URL, its
// ETag and the ICE servers the client should use.
func (h *Handler) created(c echo.Context, s *session, answer string) error {
	hdr := c.Response().Header()
	hdr.Set("Location", strings.TrimRight(c.Request().URL.Path, "/")+"/"+s.id)
	hdr.Set("ETag", s.currentETag())
	hdr.Set("Accept-Patch", MIMESDPFrag)
	for _, srv := range h.sfu.cfg.ICEServers {
		for _, u := range srv.URLs {
			link := "<" + u + `>; rel="ice-server"`
			if srv.Username != "" {
				link += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, srv.Username, srv.Credential)
			}
			hdr.Add("Link", link)
		}
	}
	return c.Blob(http.StatusCreated, MIMESDP, []byte(answer))
}

func (h *Handler) whipPost(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	offer, err := h.readBody(c, MIMESDP)
	if err != nil {
		return err
	}
	p, answer, err := h.sfu.publish(c.Request().Context(), id, bearer(c), offer)
	if err != nil {
		return err
	}
	return h.created(c, p.session, answer)
}

// whepPost serves a viewer: every offer costs the client one of its offers
// per window (see Config.WHEPRate), whatever comes of it, before anything
// else is done. The client is the request's RealIP, as the server's
// trusted proxies decide. Another node pulling a stream proves it with the
// cluster's relay token and passes the per-client limits.
func (h *Handler) whepPost(c echo.Context) error {
	ctx := c.Request().Context()
	relayFrom := c.Request().Header.Get(RelayHeader)
	client := clientKey(c.RealIP())
	if relayFrom != "" {
		if err := h.sfu.checkRelayToken(ctx, bearer(c)); err != nil {
			return err
		}
	} else if err := h.sfu.admission.offer(client); err != nil {
		return err
	}
	id, err := streamID(c)
	if err != nil {
		return err
	}
	offer, err := h.readBody(c, MIMESDP)
	if err != nil {
		return err
	}
	v, answer, err := h.sfu.view(ctx, id, offer, client, relayFrom)
	if err != nil {
		return err
	}
	return h.created(c, v.session, answer)
}

func (h *Handler) whipPatch(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	if err := h.sfu.authorizeSession(c.Request().Context(), id, bearer(c)); err != nil {
		return err
	}
	return h.patch(c, id, whipSession)
}

func (h *Handler) whepPatch(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	return h.patch(c, id, whepSession)
}

func (h *Handler) patch(c echo.Context, id int64, kind sessionKind) error {
	ref, err := h.sfu.lookupSession(id, kind, c.Param("session"))
	if err != nil {
		return err
	}
	body, err := h.readBody(c, MIMESDPFrag)
	if err != nil {
		return err
	}
	frag, err := parseFragment(body)
	if err != nil {
		return err
	}
	res, err := ref.session().patch(c.Request().Context(), c.Request().Header.Get("If-Match"), frag)
	if err != nil {
		return err
	}
	if res.status == http.StatusNoContent {
		return c.NoContent(http.StatusNoContent)
	}
	c.Response().Header().Set("ETag", res.etag)
	return c.Blob(res.status, MIMESDPFrag, []byte(res.fragment))
}

func (h *Handler) whipDelete(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	if err := h.sfu.unpublish(c.Request().Context(), id, bearer(c), c.Param("session")); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

func (h *Handler) whepDelete(c echo.Context) error {
	id, err := streamID(c)
	if err != nil {
		return err
	}
	if err := h.sfu.stopViewer(id, c.Param("session")); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}
