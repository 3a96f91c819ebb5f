package commerce

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SupportMessage is one message in an order's support thread between its buyer and
// its shop's seller (or an admin helping out).
type SupportMessage struct {
	ID         int64  `json:"id"`
	OrderID    int64  `json:"order_id"`
	AuthorID   int64  `json:"author_id"`
	AuthorName string `json:"author_name"`
	// AuthorRole is buyer, seller or admin.
	AuthorRole string    `json:"author_role"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

// SupportStore keeps support threads.
type SupportStore interface {
	// AddMessage inserts m, setting ID.
	AddMessage(ctx context.Context, m *SupportMessage) error
	// Messages returns an order's thread, oldest first, after afterID.
	Messages(ctx context.Context, orderID, afterID int64, limit int) ([]SupportMessage, error)
}

const (
	maxMessageRunes   = 2000
	maxThreadMessages = 500
)

// SendMessage adds a message to an order's thread; only the buyer, the
// shop's seller and admins may write (and read) it. Each account and each
// client address ip sends at most Config.MessageLimitAccount and
// MessageLimitIP messages a minute.
func (s *Service) SendMessage(ctx context.Context, a Account, orderID int64, body, ip string) (SupportMessage, error) {
	o, role, err := s.orderFor(ctx, a, orderID)
	if err != nil {
		return SupportMessage{}, err
	}
	body, err = cleanText("body", body, maxMessageRunes)
	if err != nil {
		return SupportMessage{}, err
	}
	if strings.TrimSpace(body) == "" {
		return SupportMessage{}, Invalid("body is required")
	}
	if err := s.LimitCaller(ctx, "message", a, ip, s.cfg.MessageLimitAccount, s.cfg.MessageLimitIP); err != nil {
		return SupportMessage{}, err
	}
	author := actorBuyer
	switch {
	case o.BuyerID == a.ID:
	case role == RoleSeller:
		author = actorSeller
	case role == RoleAdmin:
		author = actorAdmin
	}
	m := SupportMessage{OrderID: o.ID, AuthorID: a.ID, AuthorName: a.Name, AuthorRole: author, Body: body,
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if err := s.store.AddMessage(ctx, &m); err != nil {
		return SupportMessage{}, fmt.Errorf("add message to order %d: %w", orderID, err)
	}
	return m, nil
}

// Messages returns an order's support thread, oldest first. after is the ID
// of the last message the caller has (0 for the start), so clients can poll
// for new messages cheaply.
func (s *Service) Messages(ctx context.Context, a Account, orderID, after int64) ([]SupportMessage, error) {
	if _, _, err := s.orderFor(ctx, a, orderID); err != nil {
		return nil, err
	}
	ms, err := s.store.Messages(ctx, orderID, after, maxThreadMessages)
	if ms == nil {
		ms = []SupportMessage{}
	}
	return ms, err
}
