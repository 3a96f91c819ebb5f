package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// invitations is a seller's view of one shop's moderator invitations.
type invitations struct {
	seller shopper
	node   *testNode
	shop   int64
}

func (iv invitations) path(rest string) string {
	return fmt.Sprintf("/api/shops/%d/moderator-invitations%s", iv.shop, rest)
}

// invite sends an invitation and returns the response and the invitation.
func (iv invitations) invite(email string) (response, commerce.ModeratorInvitation) {
	iv.seller.t.Helper()
	var inv commerce.ModeratorInvitation
	r := iv.seller.expect(202, "POST", iv.path(""), map[string]string{"email": email})
	r.decode(iv.seller.t, &inv)
	return r, inv
}

// status is the invitation's state in the seller's list.
func (iv invitations) status(id int64) commerce.InvitationStatus {
	iv.seller.t.Helper()
	var list page[commerce.ModeratorInvitation]
	iv.seller.expect(200, "GET", iv.path("?limit=100"), nil).decode(iv.seller.t, &list)
	for _, inv := range list.Items {
		if inv.ID == id {
			return inv.Status
		}
	}
	iv.seller.t.Fatalf("invitation %d is not in the shop's list %+v", id, list.Items)
	return ""
}

// expire moves an invitation's expiry into the past, as if its 7 days had
// gone by.
func (iv invitations) expire(t *testing.T, id int64) {
	t.Helper()
	past := time.Now().Add(-time.Minute).UnixMicro()
	if _, err := iv.node.app.store.SQL().ExecContext(t.Context(),
		fmt.Sprintf("UPDATE moderator_invitations SET expires_at = %d WHERE id = %d", past, id)); err != nil {
		t.Fatal(err)
	}
}

// received is what GET /api/me/moderator-invitations shows c.
func received(c shopper) []commerce.ReceivedInvitation {
	c.t.Helper()
	var list page[commerce.ReceivedInvitation]
	c.expect(200, "GET", "/api/me/moderator-invitations", nil).decode(c.t, &list)
	return list.Items
}

// meOf is the part of /api/me about shops and invitations.
type meOf struct {
	Moderates            []commerce.Shop `json:"moderates"`
	ModeratorInvitations int             `json:"moderator_invitations"`
}

func me(c shopper) meOf {
	c.t.Helper()
	var m meOf
	c.expect(200, "GET", "/api/me", nil).decode(c.t, &m)
	return m
}

func answerPath(id int64, verb string) string {
	return fmt.Sprintf("/api/me/moderator-invitations/%d/%s", id, verb)
}

// TestModeratorInvitations (audit issue 12): moderators are appointed by an
// invitation the account accepts, and no response tells the seller an
// email they did not type, or whether an email has an account.
func TestModeratorInvitations(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		srv := n.srv
		seller := srv.shopper(t, "seller@example.com", "Mara")
		theo := srv.shopper(t, "theo@example.com", "Theo")
		stranger := srv.shopper(t, "stranger@example.com", "Sam")
		victim := srv.shopper(t, "victim@example.com", "Vic")
		shop := seller.openShop("mara", "USD")
		iv := invitations{seller: seller, node: n, shop: shop}
		S := fmt.Sprintf("/api/shops/%d", shop)

		// Every answer the seller gets is kept, to check none names an
		// email the seller did not type.
		var seen []response
		keep := func(r response) response { seen = append(seen, r); return r }

		t.Run("the old route appoints nobody and names no email", func(t *testing.T) {
			seller := seller.as(t)
			for _, body := range []any{map[string]int64{"account_id": victim.id}, map[string]string{"email": "theo@example.com"}} {
				r := keep(seller.do("POST", S+"/moderators", body))
				if r.status != 410 || r.errorCode(t) != "use_invitations" {
					t.Fatalf("old appointment route: %d %s", r.status, r.body)
				}
			}
			for _, c := range []shopper{victim.as(t), theo.as(t)} {
				if m := me(c); len(m.Moderates) != 0 {
					t.Fatalf("the old route appointed %+v", m.Moderates)
				}
			}
		})

		t.Run("inviting an unknown email answers exactly like inviting a known one", func(t *testing.T) {
			iv := iv
			iv.seller = seller.as(t)
			known, _ := iv.invite("theo@example.com")
			unknown, _ := iv.invite("nobody@example.com")
			keep(known)
			keep(unknown)
			if !slices.Equal(slices.Sorted(maps.Keys(known.header)), slices.Sorted(maps.Keys(unknown.header))) {
				t.Errorf("headers differ: %v vs %v", known.header, unknown.header)
			}
			strip := func(r response, email string) map[string]any {
				var m map[string]any
				r.decode(t, &m)
				if m["email"] != email {
					t.Errorf("the invitation shows %v, not the email typed (%s)", m["email"], email)
				}
				for _, k := range []string{"id", "email", "created_at", "expires_at"} {
					delete(m, k)
				}
				return m
			}
			if a, b := strip(known, "theo@example.com"), strip(unknown, "nobody@example.com"); !maps.Equal(a, b) {
				t.Errorf("known email answered %v, unknown %v", a, b)
			}
		})

		t.Run("inviting again returns the pending invitation", func(t *testing.T) {
			iv := iv
			iv.seller = seller.as(t)
			_, first := iv.invite("theo@example.com")
			_, again := iv.invite("  THEO@Example.com ")
			if again.ID != first.ID || again.Status != commerce.InvitationPending || again.Email != "theo@example.com" {
				t.Fatalf("second invitation %+v, first %+v", again, first)
			}
		})

		var theoInv int64
		t.Run("the invitee sees the shop's invitation, and nobody else does", func(t *testing.T) {
			theo, stranger := theo.as(t), stranger.as(t)
			got := received(theo)
			if len(got) != 1 || got[0].Shop.ID != shop || got[0].Shop.Name != "Shop mara" || !got[0].ExpiresAt.After(time.Now().Add(6*24*time.Hour)) {
				t.Fatalf("theo's invitations %+v", got)
			}
			theoInv = got[0].ID
			if m := me(theo); m.ModeratorInvitations != 1 || len(m.Moderates) != 0 {
				t.Fatalf("theo's me %+v", m)
			}
			if got := received(stranger); len(got) != 0 {
				t.Fatalf("a stranger sees %+v", got)
			}
			if m := me(stranger); m.ModeratorInvitations != 0 {
				t.Fatalf("a stranger's me %+v", m)
			}
		})

		t.Run("only the invited account can accept, and then it moderates", func(t *testing.T) {
			theo, stranger, seller := theo.as(t), stranger.as(t), seller.as(t)
			for _, c := range []shopper{stranger, seller} {
				if r := c.do("POST", answerPath(theoInv, "accept"), nil); r.status != 404 {
					t.Fatalf("account %d accepted theo's invitation: %d %s", c.id, r.status, r.body)
				}
				if r := c.do("POST", answerPath(theoInv, "decline"), nil); r.status != 404 {
					t.Fatalf("account %d declined theo's invitation: %d %s", c.id, r.status, r.body)
				}
			}
			if r := srv.client(t).do("POST", answerPath(theoInv, "accept"), nil); r.status != 401 {
				t.Fatalf("anonymous accept: %d %s", r.status, r.body)
			}
			theo.expect(403, "GET", S+"/restrictions", nil)
			var got commerce.Shop
			theo.expect(200, "POST", answerPath(theoInv, "accept"), nil).decode(t, &got)
			if got.ID != shop {
				t.Fatalf("accepted %+v", got)
			}
			theo.expect(200, "POST", answerPath(theoInv, "accept"), nil) // a double click
			theo.expect(200, "GET", S+"/restrictions", nil)
			if m := me(theo); m.ModeratorInvitations != 0 || len(m.Moderates) != 1 || m.Moderates[0].ID != shop {
				t.Fatalf("theo's me after accepting %+v", m)
			}
			if s := iv.status(theoInv); s != commerce.InvitationAccepted {
				t.Fatalf("seller sees %s", s)
			}
			if r := theo.do("POST", answerPath(theoInv, "decline"), nil); r.status != 409 || r.errorCode(t) != "invitation_accepted" {
				t.Fatalf("declining an accepted invitation: %d %s", r.status, r.body)
			}
			if r := seller.do("DELETE", iv.path(fmt.Sprint("/", theoInv)), nil); r.status != 409 || r.errorCode(t) != "invitation_accepted" {
				t.Fatalf("revoking an accepted invitation: %d %s", r.status, r.body)
			}
		})

		t.Run("the moderators list shows only emails the seller typed", func(t *testing.T) {
			seller := seller.as(t)
			// victim moderates from before invitations (the old route
			// appointed by account ID): the seller never typed its email.
			if _, err := n.app.store.SQL().ExecContext(t.Context(), fmt.Sprintf(
				"INSERT INTO shop_moderators (shop_id, account_id, appointed_by, created_at) VALUES (%d, %d, %d, %d)",
				shop, victim.id, seller.id, time.Now().UnixMicro())); err != nil {
				t.Fatal(err)
			}
			var mods []commerce.Moderator
			keep(seller.expect(200, "GET", S+"/moderators", nil)).decode(t, &mods)
			byName := map[string]commerce.Moderator{}
			for _, m := range mods {
				byName[m.Name] = m
			}
			if len(mods) != 2 || byName["Theo"].Email != "theo@example.com" || byName["Theo"].AccountID != theo.id ||
				byName["Vic"].AccountID != victim.id || byName["Vic"].Email != "" {
				t.Fatalf("moderators %+v", mods)
			}
		})

		t.Run("a declined invitation can no longer be accepted", func(t *testing.T) {
			stranger := stranger.as(t)
			_, inv := iv.invite("stranger@example.com")
			stranger.expect(204, "POST", answerPath(inv.ID, "decline"), nil)
			stranger.expect(204, "POST", answerPath(inv.ID, "decline"), nil)
			if r := stranger.do("POST", answerPath(inv.ID, "accept"), nil); r.status != 409 || r.errorCode(t) != "invitation_declined" {
				t.Fatalf("accepting a declined invitation: %d %s", r.status, r.body)
			}
			if s := iv.status(inv.ID); s != commerce.InvitationDeclined {
				t.Fatalf("seller sees %s", s)
			}
			if got := received(stranger); len(got) != 0 {
				t.Fatalf("still listed: %+v", got)
			}
			stranger.expect(403, "GET", S+"/restrictions", nil)
		})

		t.Run("a revoked invitation can no longer be accepted", func(t *testing.T) {
			seller := seller.as(t)
			rita := srv.shopper(t, "rita@example.com", "Rita")
			_, inv := iv.invite("rita@example.com")
			revoke := iv.path(fmt.Sprint("/", inv.ID))
			seller.expect(204, "DELETE", revoke, nil)
			seller.expect(204, "DELETE", revoke, nil)
			if got := received(rita); len(got) != 0 {
				t.Fatalf("a revoked invitation is listed: %+v", got)
			}
			if r := rita.do("POST", answerPath(inv.ID, "accept"), nil); r.status != 409 || r.errorCode(t) != "invitation_revoked" {
				t.Fatalf("accepting a revoked invitation: %d %s", r.status, r.body)
			}
			if s := iv.status(inv.ID); s != commerce.InvitationRevoked {
				t.Fatalf("seller sees %s", s)
			}
			seller.expect(404, "DELETE", iv.path("/999999"), nil)
			other := srv.shopper(t, "other-seller@example.com", "Otto")
			otherShop := other.openShop("otto", "USD")
			_, foreign := invitations{seller: other, node: n, shop: otherShop}.invite("someone@example.com")
			seller.expect(404, "DELETE", iv.path(fmt.Sprint("/", foreign.ID)), nil)
		})

		t.Run("an expired invitation can no longer be accepted, and a new one can", func(t *testing.T) {
			fay := srv.shopper(t, "fay@example.com", "Fay")
			_, inv := iv.invite("fay@example.com")
			iv.expire(t, inv.ID)
			if got := received(fay); len(got) != 0 {
				t.Fatalf("an expired invitation is listed: %+v", got)
			}
			if m := me(fay); m.ModeratorInvitations != 0 {
				t.Fatalf("an expired invitation is counted: %+v", m)
			}
			if r := fay.do("POST", answerPath(inv.ID, "accept"), nil); r.status != 410 || r.errorCode(t) != "invitation_expired" {
				t.Fatalf("accepting an expired invitation: %d %s", r.status, r.body)
			}
			if s := iv.status(inv.ID); s != commerce.InvitationExpired {
				t.Fatalf("seller sees %s", s)
			}
			_, again := iv.invite("fay@example.com")
			if again.ID == inv.ID || again.Status != commerce.InvitationPending {
				t.Fatalf("inviting again after expiry: %+v", again)
			}
			fay.expect(200, "POST", answerPath(again.ID, "accept"), nil)
			if s := iv.status(inv.ID); s != commerce.InvitationExpired {
				t.Fatalf("the old invitation became %s", s)
			}
		})

		t.Run("an invitation waits for whoever signs up with the email", func(t *testing.T) {
			_, inv := iv.invite("Later@Example.com")
			later := srv.shopper(t, "later@example.com", "Lee")
			got := received(later)
			if len(got) != 1 || got[0].ID != inv.ID {
				t.Fatalf("the new account sees %+v", got)
			}
			later.expect(200, "POST", answerPath(inv.ID, "accept"), nil)
			later.expect(200, "GET", S+"/restrictions", nil)
		})

		t.Run("no answer the seller got names an email the seller did not type", func(t *testing.T) {
			seller := seller.as(t)
			keep(seller.expect(200, "GET", iv.path("?limit=100"), nil))
			keep(seller.expect(200, "GET", S+"/moderators", nil))
			for _, r := range seen {
				if bytes.Contains(bytes.ToLower(r.body), []byte("victim@example.com")) {
					t.Errorf("an answer names the email of an account the seller knows only by ID: %d %s", r.status, r.body)
				}
			}
		})
	})
}

// TestModeratorInvitationLimits: a shop has a bounded number of pending
// invitations and sends a bounded number per hour; inviting the same email
// again is idempotent but counts as a send.
func TestModeratorInvitationLimits(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		cfg.Commerce.MaxPendingInvitations = 3
		cfg.Commerce.InvitationLimitPerShop = 6
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Mara")
		iv := invitations{seller: seller, node: n, shop: seller.openShop("mara", "USD")}
		_, a := iv.invite("a@example.com")
		iv.invite("b@example.com")
		iv.invite("c@example.com")
		if r := seller.do("POST", iv.path(""), map[string]string{"email": "d@example.com"}); r.status != 409 || r.errorCode(t) != "too_many_invitations" {
			t.Fatalf("a fourth pending invitation: %d %s", r.status, r.body)
		}
		if _, again := iv.invite("a@example.com"); again.ID != a.ID {
			t.Fatalf("a duplicate made invitation %d, not %d", again.ID, a.ID)
		}
		seller.expect(204, "DELETE", iv.path(fmt.Sprint("/", a.ID)), nil)
		iv.invite("d@example.com")
		r := seller.do("POST", iv.path(""), map[string]string{"email": "e@example.com"})
		if r.status != 429 || r.errorCode(t) != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("the seventh send in an hour: %d %s", r.status, r.body)
		}
		for _, tc := range []struct{ email, code string }{{"not an email", "invalid"}, {"", "invalid"}, {"seller@example.com", "invalid"}} {
			if r := seller.do("POST", iv.path(""), map[string]string{"email": tc.email}); r.status != 422 || r.errorCode(t) != tc.code {
				t.Errorf("inviting %q: %d %s", tc.email, r.status, r.body)
			}
		}
	})
}

// TestModeratorInvitationRaces: concurrent accepts, a revoke racing them,
// and concurrent duplicate invitations leave one consistent state: the
// invitation is accepted and the account moderates (every accept 200, the
// revoke 409), or it is revoked and the account does not (every accept
// 409, the revoke 204).
func TestModeratorInvitationRaces(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		n := startNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Mara")
		mod := n.srv.shopper(t, "mod@example.com", "Theo")
		shop := seller.openShop("mara", "USD")
		iv := invitations{seller: seller, node: n, shop: shop}
		hc := raceClient(16)
		defer hc.CloseIdleConnections()
		type result struct {
			who    string
			status int
			body   []byte
			err    error
		}
		race := func(calls map[string]func() (int, []byte, error)) []result {
			var wg sync.WaitGroup
			start := make(chan struct{})
			out := make(chan result, len(calls))
			for who, call := range calls {
				wg.Go(func() {
					<-start
					s, b, err := call()
					out <- result{who, s, b, err}
				})
			}
			close(start)
			wg.Wait()
			close(out)
			var rs []result
			for r := range out {
				if r.err != nil {
					t.Fatalf("%s: %v", r.who, r.err)
				}
				rs = append(rs, r)
			}
			return rs
		}

		t.Run("duplicate invitations sent together make one", func(t *testing.T) {
			calls := map[string]func() (int, []byte, error){}
			for i := range 16 {
				calls[fmt.Sprint("invite ", i)] = func() (int, []byte, error) {
					return post(hc, n.URL+iv.path(""), seller.token, map[string]string{"email": "dup@example.com"})
				}
			}
			ids := map[int64]bool{}
			for _, r := range race(calls) {
				var inv commerce.ModeratorInvitation
				if r.status != 202 || json.Unmarshal(r.body, &inv) != nil {
					t.Fatalf("%s: %d %s", r.who, r.status, r.body)
				}
				ids[inv.ID] = true
			}
			if len(ids) != 1 {
				t.Fatalf("16 identical invitations made %d: %v", len(ids), ids)
			}
		})

		outcomes := map[commerce.InvitationStatus]int{}
		for round := range 12 {
			_, inv := iv.invite("mod@example.com")
			rs := race(map[string]func() (int, []byte, error){
				"accept 1": func() (int, []byte, error) { return post(hc, n.URL+answerPath(inv.ID, "accept"), mod.token, nil) },
				"accept 2": func() (int, []byte, error) { return post(hc, n.URL+answerPath(inv.ID, "accept"), mod.token, nil) },
				"revoke": func() (int, []byte, error) {
					return send(hc, "DELETE", n.URL+iv.path(fmt.Sprint("/", inv.ID)), seller.token, nil)
				},
			})
			status := iv.status(inv.ID)
			moderates := len(me(mod).Moderates) == 1
			want := map[string]int{"accept 1": 200, "accept 2": 200, "revoke": 409}
			if status == commerce.InvitationRevoked {
				want = map[string]int{"accept 1": 409, "accept 2": 409, "revoke": 204}
			}
			for _, r := range rs {
				if r.status != want[r.who] {
					t.Errorf("round %d, invitation %s: %s answered %d %s", round, status, r.who, r.status, r.body)
				}
			}
			if (status == commerce.InvitationAccepted) != moderates || (status != commerce.InvitationAccepted && status != commerce.InvitationRevoked) {
				t.Fatalf("round %d: invitation %s, moderates %v", round, status, moderates)
			}
			outcomes[status]++
			if moderates {
				seller.expect(204, "DELETE", fmt.Sprintf("/api/shops/%d/moderators/%d", shop, mod.id), nil)
			}
		}
		t.Logf("outcomes: %v", outcomes)
	})
}
