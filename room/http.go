package room

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
)

// Handler serves the room API: the WebSocket and the moderator console's
// HTTP routes.
type Handler struct {
	hub *Hub
}

// NewHandler returns the HTTP handler of hub.
func NewHandler(hub *Hub) *Handler { return &Handler{hub: hub} }

// Register adds the room routes to g, the /api group. Every route is
// described in openapi.json.
func (h *Handler) Register(g *echo.Group) {
	g.GET("/streams/:id/room", h.websocket)
	g.GET("/streams/:id/comments", h.listComments)
	g.DELETE("/streams/:id/comments/:comment_id", h.removeComment)
	g.POST("/streams/:id/comments/:comment_id/approve", h.approveComment)
	g.POST("/streams/:id/comments/:comment_id/reject", h.rejectComment)
	g.PUT("/streams/:id/slow-mode", h.setSlowMode)
	g.PUT("/streams/:id/pin", h.pin)
	g.DELETE("/streams/:id/pin", h.unpin)
	g.GET("/shops/:id/restrictions", h.listRestrictions)
	g.POST("/shops/:id/mutes", h.mute)
	g.DELETE("/shops/:id/mutes/:user_id", h.unmute)
	g.POST("/shops/:id/bans", h.ban)
	g.DELETE("/shops/:id/bans/:user_id", h.unban)
	g.GET("/shops/:id/blocked-words", h.listBlockedWords)
	g.POST("/shops/:id/blocked-words", h.addBlockedWord)
	g.DELETE("/shops/:id/blocked-words/:word", h.removeBlockedWord)
	g.GET("/shops/:id/moderation/audit", h.audit)
}

func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q: %w", name, c.Param(name), ErrNotFound)
	}
	return id, nil
}

func queryInt(c echo.Context, name string, def int64) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, BadRequest("%s must be a non-negative integer", name)
	}
	return n, nil
}

func bindJSON(c echo.Context, dst any) error {
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 64<<10))
	if err := dec.Decode(dst); err != nil {
		return BadRequest("request body must be a JSON object: %v", err)
	}
	return nil
}

func (h *Handler) identity(c echo.Context) (Identity, error) {
	id, err := h.hub.auth.Authenticate(c.Request())
	if err != nil {
		return Identity{}, fmt.Errorf("authenticate: %w", err)
	}
	return id, nil
}

// maxEpochLen bounds the epoch a client resumes with (the server's are
// shorter).
const maxEpochLen = 64

// websocket upgrades GET /api/streams/:id/room. ?since=SEQ&epoch=E resumes.
func (h *Handler) websocket(c echo.Context) error {
	hub := h.hub
	streamID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	since := int64(-1)
	if s := c.QueryParam("since"); s != "" {
		if since, err = strconv.ParseInt(s, 10, 64); err != nil || since < 0 {
			return BadRequest("since must be a sequence number")
		}
	}
	epoch := c.QueryParam("epoch")
	if len(epoch) > maxEpochLen {
		return BadRequest("epoch must be at most %d bytes", maxEpochLen)
	}
	ident, err := h.identity(c)
	if err != nil {
		return err
	}
	if !strings.EqualFold(c.Request().Header.Get("Upgrade"), "websocket") {
		// Answered in the API's error shape, not by the WebSocket library.
		return &Error{426, "upgrade_required", "open this URL as a WebSocket"}
	}
	if !hub.origins.AllowSocket(c.Request()) {
		return ErrCrossOrigin
	}
	ctx := c.Request().Context()
	ip := c.RealIP()
	slot, err := hub.admit(ctx, ident, ip)
	if err != nil {
		return err
	}
	r, err := hub.acquire(ctx, streamID)
	if err != nil {
		slot()
		return err
	}
	cn := &conn{hub: hub, room: r, ident: ident, ip: ip, slot: slot}
	shop := r.shopID()
	if !ident.Anonymous() {
		if cn.role, err = hub.roleOf(ctx, shop, ident); err == nil {
			var rs Restriction
			rs, err = hub.store.Restriction(ctx, shop, ident.AccountID)
			cn.banned, cn.mutedUntil = rs.Banned, rs.MutedUntil
		}
		if err != nil {
			hub.release(r)
			slot()
			return err
		}
	}
	// The origin was checked above, scheme included; the library's own
	// check compares hosts only.
	ws, err := websocket.Accept(c.Response(), c.Request(), &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		hub.release(r)
		slot()
		hub.log.Info("room websocket refused", "room", streamID, "error", err)
		return nil // Accept wrote the response
	}
	ws.SetReadLimit(hub.cfg.ReadLimit)
	cn.ws = ws
	hub.m.connections.Inc()
	if cn.banned {
		cn.sendError("", ErrBanned)
		cn.kickBanned()
	} else {
		cn.joined = hub.now()
		r.join(hub.ctx, cn, since, epoch)
		hub.act.Joined(streamID, ident.AccountID, cn.joined)
	}
	// The reader runs on a fresh goroutine with a small stack; this
	// handler's goroutine (deep in net/http and Echo) ends now.
	go cn.readLoop()
	return nil
}

func (h *Handler) listComments(c echo.Context) error {
	streamID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status == "" {
		status = CommentVisible
	}
	if status != CommentVisible && status != CommentHeld && status != CommentRemoved {
		return BadRequest("status must be visible, held or removed")
	}
	before, limit, err := page(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	info, err := h.hub.streamInfo(ctx, streamID)
	if err != nil {
		return err
	}
	if status != CommentVisible {
		if err := h.moderator(c, info.ShopID, streamID, "list_"+status+"_comments"); err != nil {
			return err
		}
	}
	list, err := h.hub.store.Comments(ctx, streamID, CommentFilter{Status: status, BeforeID: before, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]CommentView, len(list))
	for i, cm := range list {
		out[i] = cm.view()
	}
	return c.JSON(http.StatusOK, map[string]any{"comments": out})
}

// change serves a moderator route that changes something and answers 204
// No Content. It reads the :id path parameter (a stream or a shop), then
// lets read (nil for none) check the rest of the request, then
// authenticates the caller and runs apply. A malformed request is refused
// before the caller is asked who they are, on every such route.
func (h *Handler) change(c echo.Context, read func() error, apply func(ctx context.Context, ident Identity, id int64) error) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if read != nil {
		if err := read(); err != nil {
			return err
		}
	}
	ident, err := h.identity(c)
	if err != nil {
		return err
	}
	if err := apply(c.Request().Context(), ident, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// moderator authenticates the caller and checks they may moderate shopID
// (and streamID, when not 0) for action.
func (h *Handler) moderator(c echo.Context, shopID, streamID int64, action string) error {
	ident, err := h.identity(c)
	if err != nil {
		return err
	}
	_, err = h.hub.authorize(c.Request().Context(), ident, shopID, streamID, action, canModerate)
	return err
}

// page reads the ?before= and ?limit= of a list route; the limit defaults
// to 50 and is held to 1..200.
func page(c echo.Context) (before int64, limit int, err error) {
	if before, err = queryInt(c, "before", 0); err != nil {
		return 0, 0, err
	}
	n, err := queryInt(c, "limit", 50)
	if err != nil {
		return 0, 0, err
	}
	return before, int(min(max(n, 1), 200)), nil
}

// commentAction serves the routes on one comment of a stream, fn getting
// the stream and comment IDs.
func (h *Handler) commentAction(c echo.Context, fn func(ctx context.Context, ident Identity, stream, comment int64) error) error {
	var commentID int64
	return h.change(c, func() (err error) {
		commentID, err = pathID(c, "comment_id")
		return err
	}, func(ctx context.Context, ident Identity, stream int64) error {
		return fn(ctx, ident, stream, commentID)
	})
}

func (h *Handler) removeComment(c echo.Context) error {
	return h.commentAction(c, h.hub.removeComment)
}

func (h *Handler) approveComment(c echo.Context) error {
	return h.commentAction(c, func(ctx context.Context, id Identity, stream, comment int64) error {
		return h.hub.reviewComment(ctx, id, stream, comment, true)
	})
}

func (h *Handler) rejectComment(c echo.Context) error {
	return h.commentAction(c, func(ctx context.Context, id Identity, stream, comment int64) error {
		return h.hub.reviewComment(ctx, id, stream, comment, false)
	})
}

func (h *Handler) setSlowMode(c echo.Context) error {
	var body struct {
		Seconds int `json:"seconds"`
	}
	return h.change(c, func() error { return bindJSON(c, &body) }, func(ctx context.Context, ident Identity, stream int64) error {
		return h.hub.setSlowMode(ctx, ident, stream, body.Seconds)
	})
}

func (h *Handler) pin(c echo.Context) error {
	var body struct {
		ProductID int64 `json:"product_id"`
	}
	return h.change(c, func() error {
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		if body.ProductID <= 0 {
			return Invalid("product_id is required")
		}
		return nil
	}, func(ctx context.Context, ident Identity, stream int64) error {
		return h.hub.pin(ctx, ident, stream, body.ProductID)
	})
}

func (h *Handler) unpin(c echo.Context) error {
	return h.change(c, nil, func(ctx context.Context, ident Identity, stream int64) error {
		return h.hub.pin(ctx, ident, stream, 0)
	})
}

// restrictionView is an active mute or ban in the moderator console.
type restrictionView struct {
	UserID     int64      `json:"user_id"`
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	Banned     bool       `json:"banned"`
}

func (h *Handler) listRestrictions(c echo.Context) error {
	shopID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.moderator(c, shopID, 0, "list_restrictions"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := h.hub.now()
	list, err := h.hub.store.Restrictions(ctx, shopID, now)
	if err != nil {
		return err
	}
	out := make([]restrictionView, 0, len(list))
	for _, r := range list {
		v := restrictionView{UserID: r.AccountID, Banned: r.Banned}
		if r.MutedUntil.After(now) {
			t := r.MutedUntil
			v.MutedUntil = &t
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"restrictions": out})
}

// restrictBody is the body of POST mutes and bans.
type restrictBody struct {
	UserID  int64 `json:"user_id"`
	Minutes int   `json:"minutes"`
	// StreamID names the room to tell at once (optional).
	StreamID int64 `json:"stream_id"`
}

// restrict serves the mute and ban routes: the user comes in the body of
// POST and in the path of DELETE (the stream to tell then in ?stream_id=).
func (h *Handler) restrict(c echo.Context, fn func(ctx context.Context, ident Identity, shop int64, body restrictBody) error) error {
	var body restrictBody
	return h.change(c, func() (err error) {
		if c.Request().Method == http.MethodDelete {
			if body.UserID, err = pathID(c, "user_id"); err != nil {
				return err
			}
			if body.StreamID, err = queryInt(c, "stream_id", 0); err != nil {
				return err
			}
		} else if err := bindJSON(c, &body); err != nil {
			return err
		}
		if body.UserID <= 0 {
			return Invalid("user_id is required")
		}
		return nil
	}, func(ctx context.Context, ident Identity, shop int64) error {
		return fn(ctx, ident, shop, body)
	})
}

func (h *Handler) mute(c echo.Context) error {
	return h.restrict(c, func(ctx context.Context, id Identity, shop int64, b restrictBody) error {
		d := time.Duration(b.Minutes) * time.Minute
		if b.Minutes < 1 || d > h.hub.cfg.MaxMute {
			return Invalid("minutes must be 1 to %d", int(h.hub.cfg.MaxMute.Minutes()))
		}
		return h.hub.mute(ctx, id, shop, b.StreamID, b.UserID, d)
	})
}

func (h *Handler) unmute(c echo.Context) error {
	return h.restrict(c, func(ctx context.Context, id Identity, shop int64, b restrictBody) error {
		return h.hub.mute(ctx, id, shop, b.StreamID, b.UserID, 0)
	})
}

func (h *Handler) ban(c echo.Context) error {
	return h.restrict(c, func(ctx context.Context, id Identity, shop int64, b restrictBody) error {
		return h.hub.ban(ctx, id, shop, b.StreamID, b.UserID, true)
	})
}

func (h *Handler) unban(c echo.Context) error {
	return h.restrict(c, func(ctx context.Context, id Identity, shop int64, b restrictBody) error {
		return h.hub.ban(ctx, id, shop, b.StreamID, b.UserID, false)
	})
}

func (h *Handler) listBlockedWords(c echo.Context) error {
	shopID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ident, err := h.identity(c)
	if err != nil {
		return err
	}
	words, err := h.hub.blockedWords(c.Request().Context(), ident, shopID)
	if err != nil {
		return err
	}
	if words == nil {
		words = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{"words": words})
}

func (h *Handler) addBlockedWord(c echo.Context) error {
	var body struct {
		Word string `json:"word"`
	}
	return h.change(c, func() error { return bindJSON(c, &body) }, func(ctx context.Context, ident Identity, shop int64) error {
		return h.hub.setBlockedWord(ctx, ident, shop, body.Word, true)
	})
}

func (h *Handler) removeBlockedWord(c echo.Context) error {
	return h.change(c, nil, func(ctx context.Context, ident Identity, shop int64) error {
		word, err := url.PathUnescape(c.Param("word"))
		if err != nil {
			return BadRequest("word is not a valid path segment")
		}
		return h.hub.setBlockedWord(ctx, ident, shop, word, false)
	})
}

func (h *Handler) audit(c echo.Context) error {
	shopID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	before, limit, err := page(c)
	if err != nil {
		return err
	}
	if err := h.moderator(c, shopID, 0, "read_audit"); err != nil {
		return err
	}
	entries, err := h.hub.store.Audit(c.Request().Context(), shopID, before, limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}
