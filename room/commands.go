package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Client command types.
const (
	CmdPing          = "ping"
	CmdComment       = "comment"
	CmdLike          = "like"
	CmdRemoveComment = "remove_comment"
	CmdApprove       = "approve_comment"
	CmdReject        = "reject_comment"
	CmdMute          = "mute"
	CmdUnmute        = "unmute"
	CmdBan           = "ban"
	CmdUnban         = "unban"
	CmdSlowMode      = "slow_mode"
	CmdPin           = "pin"
	CmdUnpin         = "unpin"
)

// command is one client message. Unknown fields are ignored so newer
// clients work with older servers.
type command struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Text      string `json:"text"`
	CID       string `json:"cid"`
	Count     int64  `json:"count"`
	CommentID int64  `json:"comment_id"`
	UserID    int64  `json:"user_id"`
	Minutes   int    `json:"minutes"`
	Seconds   int    `json:"seconds"`
	ProductID int64  `json:"product_id"`
}

// ErrUnknownCommand answers a message whose type the server does not know.
var ErrUnknownCommand = &Error{400, "unknown_command", "unknown command type"}

const (
	maxCommandID   = 64
	maxClientID    = 64
	maxLikesPerCmd = 50
	maxSlowMode    = 3600
)

// decodeCommand parses and validates one client message.
func decodeCommand(data []byte, maxMute time.Duration) (command, error) {
	var cmd command
	if err := json.Unmarshal(data, &cmd); err != nil {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(data, &id)
		cmd.ID = truncate(id.ID, maxCommandID)
		return cmd, BadRequest("malformed message: expected a JSON object with a type")
	}
	if len(cmd.ID) > maxCommandID {
		cmd.ID = truncate(cmd.ID, maxCommandID)
		return cmd, BadRequest("id is longer than %d bytes", maxCommandID)
	}
	switch cmd.Type {
	case CmdPing, CmdUnpin:
	case CmdComment:
		if len(cmd.CID) > maxClientID {
			return cmd, BadRequest("cid is longer than %d bytes", maxClientID)
		}
	case CmdLike:
		if cmd.Count == 0 {
			cmd.Count = 1
		}
		if cmd.Count < 1 || cmd.Count > maxLikesPerCmd {
			return cmd, Invalid("count must be 1 to %d", maxLikesPerCmd)
		}
	case CmdRemoveComment, CmdApprove, CmdReject:
		if cmd.CommentID <= 0 {
			return cmd, Invalid("comment_id is required")
		}
	case CmdMute:
		if cmd.UserID <= 0 {
			return cmd, Invalid("user_id is required")
		}
		if cmd.Minutes < 1 || time.Duration(cmd.Minutes)*time.Minute > maxMute {
			return cmd, Invalid("minutes must be 1 to %d", int(maxMute.Minutes()))
		}
	case CmdUnmute, CmdBan, CmdUnban:
		if cmd.UserID <= 0 {
			return cmd, Invalid("user_id is required")
		}
	case CmdSlowMode:
		if cmd.Seconds < 0 || cmd.Seconds > maxSlowMode {
			return cmd, Invalid("seconds must be 0 to %d", maxSlowMode)
		}
	case CmdPin:
		if cmd.ProductID <= 0 {
			return cmd, Invalid("product_id is required")
		}
	case "":
		return cmd, BadRequest("type is required")
	default:
		return cmd, fmt.Errorf("%q: %w", truncate(cmd.Type, 32), ErrUnknownCommand)
	}
	return cmd, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// handle runs one client message; every outcome is answered (an ack for
// commands with an id, an error event otherwise), and the connection stays.
func (c *conn) handle(ctx context.Context, data []byte) {
	h := c.hub
	cmd, err := decodeCommand(data, h.cfg.MaxMute)
	if err != nil {
		h.m.commands.WithLabelValues("invalid").Inc()
		c.sendError(cmd.ID, err)
		return
	}
	h.m.commands.WithLabelValues(cmd.Type).Inc()
	if !c.allowCommand(h.now()) {
		c.sendError(cmd.ID, ErrRateLimited)
		return
	}
	var comment *CommentView
	switch cmd.Type {
	case CmdPing:
		c.send(EventPong, ackData{ID: cmd.ID})
		return
	case CmdComment:
		start := time.Now()
		var v CommentView
		if v, err = h.postComment(ctx, c, cmd); err == nil {
			comment = &v
			h.m.commentTime.Observe(time.Since(start).Seconds())
		}
	case CmdLike:
		err = c.like(ctx, cmd.Count)
	default:
		err = h.moderate(ctx, c.ident, c.room, cmd)
	}
	if err != nil {
		c.sendError(cmd.ID, err)
		if errors.Is(err, ErrBanned) {
			// Banned on another node or stream before this connection
			// heard of it: it ends here, as the banned event would end it.
			c.kickBanned()
		}
		return
	}
	if cmd.ID != "" {
		c.send(EventAck, ackData{ID: cmd.ID, Comment: comment})
	}
}

// like counts n likes, unless the account is banned from the shop.
func (c *conn) like(ctx context.Context, n int64) error {
	if c.ident.Anonymous() {
		return ErrUnauthenticated
	}
	c.mu.Lock()
	banned := c.banned
	c.mu.Unlock()
	if !banned {
		var err error
		if banned, err = c.hub.limits.Banned(ctx, c.room.shopID(), c.ident.AccountID); err != nil {
			return err
		}
	}
	if banned {
		return ErrBanned
	}
	c.room.likes.Add(n)
	c.hub.act.Liked(c.room.id, c.ident.AccountID, n)
	return nil
}

// moderate runs a moderation or seller command from a connection.
func (h *Hub) moderate(ctx context.Context, actor Identity, r *liveRoom, cmd command) error {
	shop := r.shopID()
	switch cmd.Type {
	case CmdRemoveComment:
		return h.removeComment(ctx, actor, r.id, cmd.CommentID)
	case CmdApprove, CmdReject:
		return h.reviewComment(ctx, actor, r.id, cmd.CommentID, cmd.Type == CmdApprove)
	case CmdMute:
		return h.mute(ctx, actor, shop, r.id, cmd.UserID, time.Duration(cmd.Minutes)*time.Minute)
	case CmdUnmute:
		return h.mute(ctx, actor, shop, r.id, cmd.UserID, 0)
	case CmdBan, CmdUnban:
		return h.ban(ctx, actor, shop, r.id, cmd.UserID, cmd.Type == CmdBan)
	case CmdSlowMode:
		return h.setSlowMode(ctx, actor, r.id, cmd.Seconds)
	case CmdPin:
		return h.pin(ctx, actor, r.id, cmd.ProductID)
	case CmdUnpin:
		return h.pin(ctx, actor, r.id, 0)
	}
	return ErrUnknownCommand
}

// cleanText makes comment text safe to store and show: trimmed, control
// characters (other than newlines) dropped, at most maxRunes long. HTML is
// not touched: it is text, and pages render it as text.
func cleanText(s string, maxRunes int) (string, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("text is required")
	}
	if utf8.RuneCountInString(s) > maxRunes {
		return "", Invalid("text must be at most %d characters", maxRunes)
	}
	return s, nil
}

// matchesBlocked reports whether text contains a blocked word (whole words,
// case-insensitive) or a blocked phrase.
func matchesBlocked(text string, words []string) bool {
	if len(words) == 0 {
		return false
	}
	lower := strings.ToLower(text)
	tokens := map[string]bool{}
	for _, t := range strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		tokens[t] = true
	}
	for _, w := range words {
		if strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if strings.Contains(lower, w) {
				return true
			}
		} else if tokens[w] {
			return true
		}
	}
	return false
}

// retryError is a refusal that says when to try again.
type retryError struct {
	err   *Error
	after time.Duration
}

func (e retryError) Error() string             { return e.err.Message }
func (e retryError) Unwrap() error             { return e.err }
func (e retryError) RetryAfter() time.Duration { return e.after }

// RetryAfterSeconds is the Retry-After header of an HTTP refusal, rounded up.
func (e retryError) RetryAfterSeconds() int { return max(1, int((e.after+time.Second-1)/time.Second)) }

func refusal(e *Error, after time.Duration) error {
	secs := int(after.Seconds() + 0.999)
	return retryError{withRetry(e, secs), after}
}

// postComment checks, stores and publishes a comment from c.
func (h *Hub) postComment(ctx context.Context, c *conn, cmd command) (CommentView, error) {
	if c.ident.Anonymous() {
		return CommentView{}, ErrUnauthenticated
	}
	r := c.room
	r.mu.Lock()
	info := r.info
	r.mu.Unlock()
	c.mu.Lock()
	banned := c.banned
	c.mu.Unlock()
	if banned {
		return CommentView{}, ErrBanned
	}
	if info.Status == StatusEnded {
		return CommentView{}, ErrStreamEnded
	}
	text, err := cleanText(cmd.Text, h.cfg.CommentMaxRunes)
	if err != nil {
		return CommentView{}, err
	}
	acct := c.ident.AccountID
	refuse := func(err error) (CommentView, error) {
		// A resend of a comment that was accepted before is not refused:
		// it is published again, in case the first publish failed.
		if cmd.CID != "" {
			if prev, ok := h.findResend(ctx, r.id, acct, cmd.CID); ok {
				return prev, h.publishComment(ctx, r.id, prev)
			}
		}
		return CommentView{}, err
	}
	ok, retry, err := h.limits.Allow(ctx, "comment:"+itoa(acct), h.cfg.CommentLimit, h.cfg.CommentWindow)
	if err != nil {
		return CommentView{}, err
	}
	if !ok {
		return refuse(refusal(ErrRateLimited, retry))
	}
	if h.cfg.CommentIPLimit >= 0 && c.ip != "" && !c.role.CanModerate() {
		// Many accounts behind one address share its budget.
		ok, retry, err := h.limits.Allow(ctx, "comment:ip:"+c.ip, h.cfg.CommentIPLimit, h.cfg.CommentWindow)
		if err != nil {
			return CommentView{}, err
		}
		if !ok {
			return refuse(refusal(ErrRateLimited, retry))
		}
	}
	v, err := h.limits.CheckComment(ctx, info.ShopID, r.id, acct, c.role.CanModerate())
	if err != nil {
		return CommentView{}, err
	}
	switch {
	case v.Banned:
		return refuse(ErrBanned)
	case !v.MutedUntil.IsZero():
		return refuse(refusal(ErrMuted, v.MutedUntil.Sub(h.now())))
	case v.SlowWait > 0:
		return refuse(refusal(ErrSlowMode, v.SlowWait))
	}
	status := CommentVisible
	if !c.role.CanModerate() && matchesBlocked(text, r.blockedWords(ctx)) {
		status = CommentHeld
	}
	stored, created, err := h.comments.create(ctx, Comment{
		StreamID: r.id, ShopID: info.ShopID, AuthorID: acct, AuthorName: c.ident.Name,
		ClientID: cmd.CID, Text: text, Status: status, CreatedAt: h.now().UTC(),
	})
	if err != nil {
		return CommentView{}, fmt.Errorf("store comment: %w", err)
	}
	view := stored.view()
	if created {
		h.act.Commented(r.id, acct)
	}
	// A resend (created is false) is published again: the first publish
	// may have failed after the comment was stored. Rooms do not show a
	// comment twice (see liveRoom.repeatLocked), nor do clients, which key
	// comments by id.
	if err := h.publishComment(ctx, r.id, view); err != nil {
		return CommentView{}, err
	}
	return view, nil
}

// publishComment publishes a stored comment: to everyone when visible, to
// its author and the moderators while held; a removed one is not shown.
func (h *Hub) publishComment(ctx context.Context, streamID int64, v CommentView) error {
	var ev Event
	switch v.Status {
	case CommentVisible:
		ev = Event{Type: EventComment, Data: v.broadcast()}
	case CommentHeld:
		ev = Event{Type: EventCommentHeld, Data: v, To: &Audience{Users: []int64{v.User.ID}, Moderators: true}}
	default:
		return nil
	}
	_, err := h.publish(ctx, streamID, ev)
	return err
}

// findResend looks for a comment the account already sent with this cid.
func (h *Hub) findResend(ctx context.Context, streamID, accountID int64, cid string) (CommentView, bool) {
	list, err := h.store.Comments(ctx, streamID, CommentFilter{Limit: 200})
	if err != nil {
		return CommentView{}, false
	}
	for _, c := range list {
		if c.AuthorID == accountID && c.ClientID == cid {
			return c.view(), true
		}
	}
	return CommentView{}, false
}

// blockedWords returns the shop's blocked words, cached for a few seconds
// (changes made on this node apply at once, on others within that time).
func (r *liveRoom) blockedWords(ctx context.Context) []string {
	r.mu.Lock()
	if r.hub.now().Sub(r.wordsAt) < 5*time.Second {
		w := r.words
		r.mu.Unlock()
		return w
	}
	shop := r.info.ShopID
	r.mu.Unlock()
	words, err := r.hub.store.BlockedWords(ctx, shop)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.log.Warn("load blocked words", "error", err)
		return r.words
	}
	r.words, r.wordsAt = words, r.hub.now()
	return words
}

// asRoomError finds the client-facing error in err, or makes an internal one.
func asRoomError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var coded interface {
		HTTPStatus() int
		ErrorCode() string
	}
	if errors.As(err, &coded) {
		return &Error{coded.HTTPStatus(), coded.ErrorCode(), err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ErrUnavailable
	}
	return &Error{500, "internal", "internal error"}
}

// isNotFound reports whether err means "no such object", from room or
// from an adapted package.
func isNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && coded.ErrorCode() == "not_found"
}
