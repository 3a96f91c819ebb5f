package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

// roomAuthzCases are the room package's HTTP routes in the authorization
// matrix: the room socket and visible comments are public; the moderator
// console (held comments, removal and review, slow mode, mutes, bans,
// blocked words, the audit log) is for the shop's moderators, its seller
// and admins; pinning is for the seller and admins. Another shop's seller is
// a viewer here.
func roomAuthzCases(t *testing.T, fx authzFixture) []authzCase {
	t.Helper()
	target := fx.node.srv.shopper(t, "target@example.com", "Target")
	c, _, err := fx.node.app.store.Rooms().CreateComment(t.Context(), room.Comment{StreamID: fx.live, ShopID: fx.shop,
		AuthorID: target.id, AuthorName: "Target", ClientID: "authz-1", Text: "first!", Status: room.CommentVisible, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	RS := fmt.Sprintf("/api/streams/%d", fx.live)
	S := fmt.Sprintf("/api/shops/%d", fx.shop)
	C := fmt.Sprintf("%s/comments/%d", RS, c.ID)
	const u, f, n = 401, 403, 404
	all := func(status int) [6]int { return [6]int{status, status, status, status, status, status} }
	moderators := func(status int) [6]int { return [6]int{u, f, f, status, status, status} }
	sellers := func(status int) [6]int { return [6]int{u, f, f, status, f, status} }
	return []authzCase{
		// A plain GET is not a WebSocket handshake: everyone may open the
		// room, so everyone gets past authorization to the upgrade check.
		{"GET", RS + "/room", nil, nil, all(426)},
		{"GET", RS + "/comments", nil, nil, all(200)},
		{"GET", RS + "/comments?status=held", nil, nil, moderators(200)},
		{"GET", RS + "/comments?status=removed", nil, nil, moderators(200)},
		// Removing twice is fine; a removed comment is no longer held.
		{"DELETE", C, nil, nil, moderators(204)},
		{"POST", C + "/approve", nil, nil, moderators(409)},
		{"POST", C + "/reject", nil, nil, moderators(409)},
		{"PUT", RS + "/slow-mode", map[string]int{"seconds": 0}, nil, moderators(204)},
		{"PUT", RS + "/pin", map[string]int64{"product_id": fx.product.ID}, nil, sellers(204)},
		{"DELETE", RS + "/pin", nil, nil, sellers(204)},
		{"GET", S + "/restrictions", nil, nil, moderators(200)},
		{"POST", S + "/mutes", map[string]int64{"user_id": target.id, "minutes": 1}, nil, moderators(204)},
		{"DELETE", fmt.Sprintf("%s/mutes/%d", S, target.id), nil, nil, moderators(204)},
		{"POST", S + "/bans", map[string]int64{"user_id": target.id}, nil, moderators(204)},
		{"DELETE", fmt.Sprintf("%s/bans/%d", S, target.id), nil, nil, moderators(204)},
		{"GET", S + "/blocked-words", nil, nil, moderators(200)},
		{"POST", S + "/blocked-words", map[string]string{"word": "spoiler"}, nil, moderators(204)},
		// Allowed roles get past authorization to "no such word".
		{"DELETE", S + "/blocked-words/never-blocked", nil, nil, moderators(n)},
		{"GET", S + "/moderation/audit", nil, nil, moderators(200)},
	}
}
