package room

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Moderation is shared by WebSocket commands and the HTTP API: each action
// checks the actor's role in the shop, writes the system of record, updates
// the shared Limits, audits, and publishes the event rooms need.

// roleOf returns the actor's role in shop.
func (h *Hub) roleOf(ctx context.Context, shopID int64, id Identity) (Role, error) {
	if id.Anonymous() {
		return RoleViewer, nil
	}
	if id.Admin {
		return RoleAdmin, nil
	}
	role, err := h.dir.Role(ctx, shopID, id.AccountID)
	if err != nil {
		return RoleViewer, fmt.Errorf("role in shop %d: %w", shopID, err)
	}
	return role, nil
}

// streamInfo returns a stream's shop and status, from the open room when
// there is one.
func (h *Hub) streamInfo(ctx context.Context, streamID int64) (StreamInfo, error) {
	h.mu.Lock()
	r := h.open[streamID]
	h.mu.Unlock()
	if r != nil {
		select {
		case <-r.ready:
			if r.openErr == nil {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.info, nil
			}
		default:
		}
	}
	info, err := h.dir.Stream(ctx, streamID)
	if err != nil {
		return info, fmt.Errorf("stream %d: %w", streamID, err)
	}
	return info, nil
}

// authorize checks that actor may do action in shop; a refusal is audited
// and logged, since it may be someone probing.
func (h *Hub) authorize(ctx context.Context, actor Identity, shopID, streamID int64, action string, allowed func(Role) bool) (Role, error) {
	if actor.Anonymous() {
		return RoleViewer, ErrUnauthenticated
	}
	role, err := h.roleOf(ctx, shopID, actor)
	if err != nil {
		return role, err
	}
	if allowed(role) {
		return role, nil
	}
	h.log.Info("refused room action", "action", action, "account", actor.AccountID, "shop", shopID, "role", role.String())
	h.audit(ctx, actor, AuditEntry{ShopID: shopID, StreamID: streamID, Action: AuditDenied, Detail: action})
	return role, ErrForbidden
}

func (h *Hub) audit(ctx context.Context, actor Identity, e AuditEntry) error {
	e.ActorID, e.ActorName, e.At = actor.AccountID, actor.Name, h.now().UTC()
	if _, err := h.store.AppendAudit(ctx, e); err != nil {
		h.log.Error("audit log write failed", "action", e.Action, "shop", e.ShopID, "error", err)
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

func canModerate(r Role) bool { return r.CanModerate() }
func canPin(r Role) bool      { return r.CanPin() }

// removeComment hides a comment for good. Removing a removed comment
// succeeds and publishes the removal again (a retry after a failed publish).
func (h *Hub) removeComment(ctx context.Context, actor Identity, streamID, commentID int64) error {
	info, err := h.streamInfo(ctx, streamID)
	if err != nil {
		return err
	}
	if _, err := h.authorize(ctx, actor, info.ShopID, streamID, AuditRemoveComment, canModerate); err != nil {
		return err
	}
	c, err := h.store.Comment(ctx, streamID, commentID)
	if err != nil {
		return fmt.Errorf("comment %d: %w", commentID, err)
	}
	ev := Event{Type: EventCommentRemoved, Data: commentRemovedData{c.ID}}
	switch c.Status {
	case CommentRemoved:
		// Removed before: publish again, in case that publish failed
		// (rooms and clients take a removal once). Whether it had been
		// held is no longer known, so everyone is told the id.
	case CommentHeld:
		ev.To = &Audience{Users: []int64{c.AuthorID}, Moderators: true}
		fallthrough
	default:
		if _, err := h.store.SetCommentStatus(ctx, streamID, commentID, CommentRemoved); err != nil {
			return err
		}
		if err := h.audit(ctx, actor, AuditEntry{ShopID: info.ShopID, StreamID: streamID, Action: AuditRemoveComment,
			TargetID: c.AuthorID, CommentID: c.ID}); err != nil {
			return err
		}
	}
	_, err = h.publish(ctx, streamID, ev)
	return err
}

// reviewComment approves (shows to everyone) or rejects a held comment.
func (h *Hub) reviewComment(ctx context.Context, actor Identity, streamID, commentID int64, approve bool) error {
	info, err := h.streamInfo(ctx, streamID)
	if err != nil {
		return err
	}
	action := AuditRejectComment
	if approve {
		action = AuditApproveComment
	}
	if _, err := h.authorize(ctx, actor, info.ShopID, streamID, action, canModerate); err != nil {
		return err
	}
	c, err := h.store.Comment(ctx, streamID, commentID)
	if err != nil {
		return fmt.Errorf("comment %d: %w", commentID, err)
	}
	if c.Status != CommentHeld {
		return &Error{409, "not_held", "the comment is not waiting for review"}
	}
	status := CommentRemoved
	if approve {
		status = CommentVisible
	}
	if c, err = h.store.SetCommentStatus(ctx, streamID, commentID, status); err != nil {
		return err
	}
	if err := h.audit(ctx, actor, AuditEntry{ShopID: info.ShopID, StreamID: streamID, Action: action,
		TargetID: c.AuthorID, CommentID: c.ID}); err != nil {
		return err
	}
	ev := Event{Type: EventComment, Data: c.view().broadcast()}
	if !approve {
		ev = Event{Type: EventCommentRemoved, Data: commentRemovedData{c.ID}, To: &Audience{Users: []int64{c.AuthorID}, Moderators: true}}
	}
	_, err = h.publish(ctx, streamID, ev)
	return err
}

// checkTarget refuses acting on someone whose role is not below the actor's
// (a moderator cannot mute the seller or another moderator).
func (h *Hub) checkTarget(ctx context.Context, actorRole Role, shopID, target int64) error {
	role, err := h.dir.Role(ctx, shopID, target)
	if err != nil {
		return err
	}
	if role >= actorRole || role >= RoleModerator && actorRole < RoleSeller {
		return &Error{403, "forbidden", "you cannot restrict someone with that role"}
	}
	return nil
}

// mute mutes target in the shop for d (0 lifts the mute). The event goes to
// every room of the shop (see publishToShop); streamID, if not 0, is where
// the moderator acted. The shared Limits refuse the target's comments on
// every node at once.
func (h *Hub) mute(ctx context.Context, actor Identity, shopID, streamID, target int64, d time.Duration) error {
	action := AuditMute
	if d <= 0 {
		action = AuditUnmute
	}
	role, err := h.authorize(ctx, actor, shopID, streamID, action, canModerate)
	if err != nil {
		return err
	}
	if err := h.checkStream(ctx, shopID, streamID); err != nil {
		return err
	}
	if d > 0 {
		if err := h.checkTarget(ctx, role, shopID, target); err != nil {
			return err
		}
	}
	var until time.Time
	if d > 0 {
		until = h.now().Add(min(d, h.cfg.MaxMute)).UTC().Truncate(time.Millisecond)
	}
	if err := h.store.SetMute(ctx, shopID, target, until); err != nil {
		return err
	}
	if err := h.limits.SetMute(ctx, shopID, target, until); err != nil {
		return err
	}
	detail := ""
	if d > 0 {
		detail = fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	if err := h.audit(ctx, actor, AuditEntry{ShopID: shopID, StreamID: streamID, Action: action, TargetID: target, Detail: detail}); err != nil {
		return err
	}
	return h.publishToShop(ctx, shopID, streamID, Event{Type: EventMuted, Data: mutedData{target, until},
		To: &Audience{Users: []int64{target}}})
}

// ban bans (or unbans) target from the shop's streams; a banned viewer's
// connections, on every stream of the shop and every node, get a "banned"
// event and close with CloseBanned.
func (h *Hub) ban(ctx context.Context, actor Identity, shopID, streamID, target int64, banned bool) error {
	action := AuditBan
	if !banned {
		action = AuditUnban
	}
	role, err := h.authorize(ctx, actor, shopID, streamID, action, canModerate)
	if err != nil {
		return err
	}
	if err := h.checkStream(ctx, shopID, streamID); err != nil {
		return err
	}
	if banned {
		if err := h.checkTarget(ctx, role, shopID, target); err != nil {
			return err
		}
	}
	if err := h.store.SetBan(ctx, shopID, target, banned); err != nil {
		return err
	}
	if err := h.limits.SetBan(ctx, shopID, target, banned); err != nil {
		return err
	}
	if err := h.audit(ctx, actor, AuditEntry{ShopID: shopID, StreamID: streamID, Action: action, TargetID: target}); err != nil {
		return err
	}
	if !banned {
		return nil
	}
	return h.publishToShop(ctx, shopID, streamID, Event{Type: EventBanned, Data: bannedData{target},
		To: &Audience{Users: []int64{target}}})
}

// publishToShop publishes ev to every room of the shop a viewer may have
// open on any node: its live and scheduled streams (from the Directory),
// the rooms of the shop open on this node, and streamID (0: none). A stream
// whose publish fails does not stop the others; the errors are returned
// together.
func (h *Hub) publishToShop(ctx context.Context, shopID, streamID int64, ev Event) error {
	targets := map[int64]bool{}
	if streamID != 0 {
		targets[streamID] = true
	}
	ids, errs := h.dir.ShopStreams(ctx, shopID)
	if errs != nil {
		errs = fmt.Errorf("streams of shop %d: %w", shopID, errs)
	}
	for _, id := range ids {
		targets[id] = true
	}
	h.mu.Lock()
	for id, r := range h.open {
		select {
		case <-r.ready:
			if r.openErr == nil && r.shopID() == shopID {
				targets[id] = true
			}
		default:
		}
	}
	h.mu.Unlock()
	for id := range targets {
		if _, err := h.publish(ctx, id, ev); err != nil {
			errs = errors.Join(errs, err)
		}
	}
	return errs
}

// checkStream refuses a stream_id that names no stream of the shop, so a
// moderator of one shop cannot send events into another shop's rooms.
func (h *Hub) checkStream(ctx context.Context, shopID, streamID int64) error {
	if streamID == 0 {
		return nil
	}
	info, err := h.streamInfo(ctx, streamID)
	if err != nil && !isNotFound(err) {
		return err
	}
	if err != nil || info.ShopID != shopID {
		return Invalid("stream_id %d is not a stream of this shop", streamID)
	}
	return nil
}

// setSlowMode sets the minimum seconds between one viewer's comments.
func (h *Hub) setSlowMode(ctx context.Context, actor Identity, streamID int64, seconds int) error {
	if seconds < 0 || seconds > maxSlowMode {
		return Invalid("seconds must be 0 to %d", maxSlowMode)
	}
	info, err := h.streamInfo(ctx, streamID)
	if err != nil {
		return err
	}
	if _, err := h.authorize(ctx, actor, info.ShopID, streamID, AuditSlowMode, canModerate); err != nil {
		return err
	}
	if err := h.store.SetSlowMode(ctx, streamID, seconds); err != nil {
		return err
	}
	if err := h.limits.SetSlowMode(ctx, streamID, time.Duration(seconds)*time.Second); err != nil {
		return err
	}
	if err := h.audit(ctx, actor, AuditEntry{ShopID: info.ShopID, StreamID: streamID, Action: AuditSlowMode,
		Detail: fmt.Sprintf("%d seconds", seconds)}); err != nil {
		return err
	}
	_, err = h.publish(ctx, streamID, Event{Type: EventSlowMode, Data: slowModeData{seconds}})
	return err
}

// pin pins an active product of the stream's shop (0 unpins); seller or
// admin only.
func (h *Hub) pin(ctx context.Context, actor Identity, streamID, productID int64) error {
	info, err := h.streamInfo(ctx, streamID)
	if err != nil {
		return err
	}
	action := AuditPin
	if productID == 0 {
		action = AuditUnpin
	}
	if _, err := h.authorize(ctx, actor, info.ShopID, streamID, action, canPin); err != nil {
		return err
	}
	ev := Event{Type: EventUnpinned}
	if productID != 0 {
		p, err := h.dir.Product(ctx, info.ShopID, productID)
		if err != nil {
			return fmt.Errorf("product %d: %w", productID, err)
		}
		if !p.Active {
			return ErrProductNotActive
		}
		ev = Event{Type: EventPinned, Data: pinnedData{p}}
	}
	if err := h.store.SetPinned(ctx, streamID, productID); err != nil {
		return err
	}
	if err := h.audit(ctx, actor, AuditEntry{ShopID: info.ShopID, StreamID: streamID, Action: action,
		Detail: detailID(productID)}); err != nil {
		return err
	}
	_, err = h.publish(ctx, streamID, ev)
	return err
}

func detailID(id int64) string {
	if id == 0 {
		return ""
	}
	return "product " + itoa(id)
}

// normalizeWord checks a blocked word or phrase: lower case, trimmed, 1-64
// characters, no control characters.
func normalizeWord(w string) (string, error) {
	w = strings.ToLower(strings.Join(strings.Fields(w), " "))
	if w == "" || utf8.RuneCountInString(w) > 64 || strings.ContainsFunc(w, unicode.IsControl) {
		return "", Invalid("a blocked word must be 1 to 64 characters")
	}
	return w, nil
}

// blockedWords lists the shop's blocked words (moderators only).
func (h *Hub) blockedWords(ctx context.Context, actor Identity, shopID int64) ([]string, error) {
	if _, err := h.authorize(ctx, actor, shopID, 0, "list_blocked_words", canModerate); err != nil {
		return nil, err
	}
	return h.store.BlockedWords(ctx, shopID)
}

// setBlockedWord adds or removes a blocked word; comments matching one are
// held for review.
func (h *Hub) setBlockedWord(ctx context.Context, actor Identity, shopID int64, word string, add bool) error {
	w, err := normalizeWord(word)
	if err != nil {
		return err
	}
	action := AuditAddWord
	if !add {
		action = AuditRemoveWord
	}
	if _, err := h.authorize(ctx, actor, shopID, 0, action, canModerate); err != nil {
		return err
	}
	if add {
		err = h.store.AddBlockedWord(ctx, shopID, w)
	} else {
		err = h.store.RemoveBlockedWord(ctx, shopID, w)
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	for _, r := range h.open {
		r.mu.Lock()
		if r.info.ShopID == shopID {
			r.wordsAt = time.Time{}
		}
		r.mu.Unlock()
	}
	h.mu.Unlock()
	return h.audit(ctx, actor, AuditEntry{ShopID: shopID, Action: action, Detail: w})
}
