package commerce

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/accounts"
	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Moderators are appointed by invitation, never by the seller alone (audit
// issue 12: appointing any account ID used to answer with that account's
// email). The seller invites an email address they already know; the
// account with that email — now, or once someone signs up with it —
// accepts or declines after signing in. Until the account answers, nothing
// the seller sees depends on whether the email has an account: inviting an
// unknown address answers exactly like inviting a known one, and the only
// email the seller ever sees is the one they typed.

// InvitationStatus is where a moderator invitation stands.
type InvitationStatus string

// The states of an invitation. Only a pending one can change, once.
const (
	// InvitationPending waits for the invitee until it expires.
	InvitationPending InvitationStatus = "pending"
	// InvitationAccepted made the invitee a moderator.
	InvitationAccepted InvitationStatus = "accepted"
	// InvitationDeclined was turned down by the invitee.
	InvitationDeclined InvitationStatus = "declined"
	// InvitationRevoked was withdrawn by the shop before an answer.
	InvitationRevoked InvitationStatus = "revoked"
	// InvitationExpired was not answered in time (Config.ModeratorInvitationTTL).
	InvitationExpired InvitationStatus = "expired"
)

// ModeratorInvitation is an invitation as the shop sees it: the email the
// seller typed and where it stands. It names the account (AccountID) only
// once the account accepted.
type ModeratorInvitation struct {
	ID        int64            `json:"id"`
	ShopID    int64            `json:"shop_id"`
	Email     string           `json:"email"`
	Status    InvitationStatus `json:"status"`
	InvitedBy int64            `json:"invited_by"`
	// AccountID is the moderator the invitation appointed (accepted only).
	AccountID  int64      `json:"account_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// Settle reports a pending invitation past its expiry as expired, as of now.
// Stores call it on what they read, so every reader agrees on the state.
func (inv *ModeratorInvitation) Settle(now time.Time) {
	if inv.Status == InvitationPending && !inv.ExpiresAt.After(now) {
		inv.Status = InvitationExpired
	}
	if inv.Status != InvitationAccepted {
		inv.AccountID = 0
	}
}

// ReceivedInvitation is a pending invitation as its invitee sees it: which
// shop asks, and until when.
type ReceivedInvitation struct {
	ID        int64     `json:"id"`
	Shop      Shop      `json:"shop"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// InvitationClose moves a pending invitation to a final state. Exactly one
// of ShopID (the shop revoking) and Email (the invitee answering) names
// whose invitation it must be.
type InvitationClose struct {
	ID     int64
	ShopID int64
	Email  string
	// To is accepted, declined or revoked.
	To InvitationStatus
	// AccountID answers (declined, accepted); an accepted invitation
	// appoints it.
	AccountID int64
	At        time.Time
}

// InvitationStore keeps moderator invitations.
type InvitationStore interface {
	// InviteModerator records inv as pending and returns it with its ID,
	// unless the shop has a pending, unexpired invitation for inv.Email:
	// then it returns that one. It refuses with ErrTooManyInvitations when
	// the shop has maxPending pending ones.
	InviteModerator(ctx context.Context, inv ModeratorInvitation, maxPending int) (ModeratorInvitation, error)
	// ShopInvitations lists a shop's invitations with ID below beforeID
	// (0: from the newest), newest first, settled as of now.
	ShopInvitations(ctx context.Context, shopID, beforeID int64, limit int, now time.Time) ([]ModeratorInvitation, error)
	// ReceivedInvitations lists up to limit pending, unexpired invitations
	// for email, newest first; CountReceivedInvitations counts them all.
	ReceivedInvitations(ctx context.Context, email string, now time.Time, limit int) ([]ReceivedInvitation, error)
	CountReceivedInvitations(ctx context.Context, email string, now time.Time) (int, error)
	// CloseInvitation applies c in one transaction (accepting also appoints
	// the moderator) if the invitation is pending and unexpired, and
	// returns the invitation as it then stands, settled as of c.At: a
	// caller that finds another state lost a race or came too late.
	// ErrNotFound if no invitation has that ID for that shop or email.
	CloseInvitation(ctx context.Context, c InvitationClose) (ModeratorInvitation, error)
}

// Errors about moderator invitations.
var (
	// ErrTooManyInvitations means the shop has Config.MaxPendingInvitations
	// pending invitations.
	ErrTooManyInvitations = api.New(409, "too_many_invitations", "this shop has too many pending invitations; revoke some or wait for answers")
	// ErrInvitationExpired means the invitation was not answered in time.
	ErrInvitationExpired = api.New(410, "invitation_expired", "this invitation has expired; ask the shop to invite you again")
	// ErrInvitationRevoked means the shop withdrew the invitation.
	ErrInvitationRevoked = api.New(409, "invitation_revoked", "the shop has withdrawn this invitation")
	// ErrInvitationDeclined means the invitee turned the invitation down.
	ErrInvitationDeclined = api.New(409, "invitation_declined", "this invitation was declined; ask the shop to invite you again")
	// ErrInvitationAccepted means the invitation was accepted: it can no
	// longer be declined or revoked; the seller removes the moderator instead.
	ErrInvitationAccepted = api.New(409, "invitation_accepted", "this invitation was accepted; the seller can remove the moderator")
	// ErrUseInvitations answers the old appointment route, which made any
	// account a moderator without its consent.
	ErrUseInvitations = api.New(410, "use_invitations", "moderators are appointed by invitation: POST /api/shops/{id}/moderator-invitations with their email, and they accept it after signing in")
)

// invitationWindow is the window of Config.InvitationLimitPerShop.
const invitationWindow = time.Hour

// maxReceivedInvitations bounds the invitations an account is shown at once.
const maxReceivedInvitations = 50

// InviteModerator invites email to moderate the shop (seller or admin). The
// answer is the same whether or not an account has that email, and inviting
// the same email again returns the pending invitation.
func (s *Service) InviteModerator(ctx context.Context, a Account, shopID int64, email string) (ModeratorInvitation, error) {
	shop, err := s.RequireSeller(ctx, a, shopID)
	if err != nil {
		return ModeratorInvitation{}, err
	}
	email, err = accounts.NormalizeEmail(email)
	if err != nil {
		return ModeratorInvitation{}, err
	}
	owner, err := s.store.AccountByID(ctx, shop.OwnerID)
	if err != nil {
		return ModeratorInvitation{}, fmt.Errorf("owner of shop %d: %w", shop.ID, err)
	}
	if email == strings.ToLower(a.Email) || email == strings.ToLower(owner.Email) {
		// Only the seller (who knows their own address) or an admin learns
		// anything from this.
		return ModeratorInvitation{}, Invalid("the seller and admins already have every right in the shop")
	}
	if err := s.LimitPer(ctx, fmt.Sprintf("invite:shop:%d", shop.ID), s.cfg.InvitationLimitPerShop, invitationWindow); err != nil {
		return ModeratorInvitation{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	inv, err := s.store.InviteModerator(ctx, ModeratorInvitation{
		ShopID: shop.ID, Email: email, Status: InvitationPending, InvitedBy: a.ID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.ModeratorInvitationTTL),
	}, s.cfg.MaxPendingInvitations)
	if err != nil {
		return ModeratorInvitation{}, fmt.Errorf("invite moderator to shop %d: %w", shop.ID, err)
	}
	return inv, nil
}

// ModeratorInvitations lists the shop's invitations, newest first (seller
// or admin).
func (s *Service) ModeratorInvitations(ctx context.Context, a Account, shopID int64, p PageRequest) ([]ModeratorInvitation, string, error) {
	if _, err := s.RequireSeller(ctx, a, shopID); err != nil {
		return nil, "", err
	}
	before, limit, err := p.Parse()
	if err != nil {
		return nil, "", err
	}
	invs, err := s.store.ShopInvitations(ctx, shopID, before, limit+1, s.now())
	if err != nil {
		return nil, "", err
	}
	invs, next := api.CutPage(invs, limit, func(i ModeratorInvitation) int64 { return i.ID })
	return invs, next, nil
}

// RevokeModeratorInvitation withdraws a pending invitation (seller or
// admin). Revoking one that can no longer be accepted anyway is not an
// error; an accepted one is: the seller removes the moderator instead.
func (s *Service) RevokeModeratorInvitation(ctx context.Context, a Account, shopID, id int64) error {
	if _, err := s.RequireSeller(ctx, a, shopID); err != nil {
		return err
	}
	inv, err := s.store.CloseInvitation(ctx, InvitationClose{ID: id, ShopID: shopID, To: InvitationRevoked, At: s.now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		return err
	}
	if inv.Status == InvitationAccepted {
		return ErrInvitationAccepted
	}
	return nil
}

// ReceivedInvitations lists the pending invitations for the caller's email.
func (s *Service) ReceivedInvitations(ctx context.Context, a Account) ([]ReceivedInvitation, error) {
	invs, err := s.store.ReceivedInvitations(ctx, strings.ToLower(a.Email), s.now(), maxReceivedInvitations)
	if invs == nil {
		invs = []ReceivedInvitation{}
	}
	return invs, err
}

// AcceptModeratorInvitation makes the caller a moderator of the shop that
// invited their email, and returns that shop. Accepting twice is harmless.
// An invitation for another email is not found.
func (s *Service) AcceptModeratorInvitation(ctx context.Context, a Account, id int64) (Shop, error) {
	inv, err := s.answer(ctx, a, id, InvitationAccepted)
	if err != nil {
		return Shop{}, err
	}
	switch {
	case inv.Status == InvitationAccepted && inv.AccountID == a.ID:
		return s.store.ShopByID(ctx, inv.ShopID)
	case inv.Status == InvitationExpired:
		return Shop{}, ErrInvitationExpired
	case inv.Status == InvitationRevoked:
		return Shop{}, ErrInvitationRevoked
	}
	return Shop{}, ErrInvitationDeclined
}

// DeclineModeratorInvitation turns an invitation for the caller's email
// down. Declining one that can no longer be accepted is not an error; an
// accepted one is (the seller removes the moderator).
func (s *Service) DeclineModeratorInvitation(ctx context.Context, a Account, id int64) error {
	inv, err := s.answer(ctx, a, id, InvitationDeclined)
	if err != nil {
		return err
	}
	if inv.Status == InvitationAccepted {
		return ErrInvitationAccepted
	}
	return nil
}

func (s *Service) answer(ctx context.Context, a Account, id int64, to InvitationStatus) (ModeratorInvitation, error) {
	if a.ID == 0 {
		return ModeratorInvitation{}, ErrUnauthenticated
	}
	inv, err := s.store.CloseInvitation(ctx, InvitationClose{ID: id, Email: strings.ToLower(a.Email), To: to, AccountID: a.ID,
		At: s.now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		return ModeratorInvitation{}, fmt.Errorf("answer invitation %d: %w", id, err)
	}
	return inv, nil
}
