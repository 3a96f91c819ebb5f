package room_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

func TestModeration(t *testing.T) {
	t.Run("a removed comment disappears for everyone and never shows again", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, streamID, viewer, -1)
		m := n.dial(t, streamID, mod, -1)
		v.next("snapshot")
		m.next("snapshot")
		keep := v.comment("k", "nice shirt")
		bad := v.comment("b", "buy my spam")
		since := v.next("comment").Seq - 1 // before both comments
		v.next("comment")
		m.send(map[string]any{"type": "remove_comment", "id": "rm", "comment_id": bad.ID})
		m.ack("rm")
		if got := decode[struct{ ID int64 }](t, v.next("comment_removed").Data); got.ID != bad.ID {
			t.Fatalf("removed %d, want %d", got.ID, bad.ID)
		}
		fresh := n.dial(t, streamID, "", -1)
		snap := decode[snapshot](t, fresh.next("snapshot").Data)
		if len(snap.Comments) != 1 || snap.Comments[0].ID != keep.ID {
			t.Fatalf("snapshot comments = %+v, want only %d", snap.Comments, keep.ID)
		}
		resumed := n.dial(t, streamID, "", int64(since))
		resumed.next("resumed")
		resumed.next("comment_removed")
		for _, e := range resumed.all("comment") {
			if decode[commentData](t, e.Data).ID == bad.ID {
				t.Fatal("resume replayed the removed comment")
			}
		}
		if len(resumed.all("comment")) != 1 {
			t.Fatalf("resume replayed %d comments, want the kept one", len(resumed.all("comment")))
		}
		code, body := n.api(t, "GET", fmt.Sprintf("/streams/%d/comments", streamID), "", nil)
		var list struct{ Comments []commentData }
		json.Unmarshal(body, &list)
		if code != 200 || len(list.Comments) != 1 {
			t.Fatalf("GET comments = %d %s", code, body)
		}
	})

	t.Run("a comment with a blocked word is held for its author and moderators until approved", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		if code, body := n.api(t, "POST", fmt.Sprintf("/shops/%d/blocked-words", shopID), mod, map[string]string{"word": "Scam"}); code != 204 {
			t.Fatalf("add word: %d %s", code, body)
		}
		author := n.dial(t, streamID, viewer, -1)
		other := n.dial(t, streamID, viewer2, -1)
		m := n.dial(t, streamID, mod, -1)
		for _, c := range []*client{author, other, m} {
			c.next("snapshot")
		}
		held := author.comment("h", "this is a SCAM!")
		if held.Status != room.CommentHeld {
			t.Fatalf("status = %s, want held", held.Status)
		}
		author.next("comment_held")
		m.next("comment_held")
		other.comment("sync", "ok")
		other.next("comment")
		if len(other.all("comment_held")) != 0 {
			t.Fatal("another viewer saw the held comment")
		}
		code, body := n.api(t, "GET", fmt.Sprintf("/streams/%d/comments?status=held", streamID), mod, nil)
		if code != 200 || !json.Valid(body) || len(decode[struct{ Comments []commentData }](t, body).Comments) != 1 {
			t.Fatalf("held queue = %d %s", code, body)
		}
		if code, _ := n.api(t, "GET", fmt.Sprintf("/streams/%d/comments?status=held", streamID), viewer2, nil); code != 403 {
			t.Fatalf("a viewer read the held queue: %d", code)
		}
		if code, body := n.api(t, "POST", fmt.Sprintf("/streams/%d/comments/%d/approve", streamID, held.ID), mod, nil); code != 204 {
			t.Fatalf("approve: %d %s", code, body)
		}
		eventually(t, "the approved comment reaches everyone", func() bool {
			for _, e := range other.all("comment") {
				if decode[commentData](t, e.Data).ID == held.ID {
					return true
				}
			}
			return false
		})
	})

	t.Run("a muted viewer is refused and told; the mute is lifted by unmute", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, streamID, viewer, -1)
		m := n.dial(t, streamID, mod, -1)
		v.next("snapshot")
		m.next("snapshot")
		m.send(map[string]any{"type": "mute", "id": "mu", "user_id": viewerID, "minutes": 10})
		m.ack("mu")
		muted := decode[struct {
			UserID int64     `json:"user_id"`
			Until  time.Time `json:"until"`
		}](t, v.next("muted").Data)
		if muted.UserID != viewerID || time.Until(muted.Until) < 9*time.Minute {
			t.Fatalf("muted event = %+v", muted)
		}
		if len(m.all("muted")) != 0 {
			t.Fatal("the muted event reached someone else")
		}
		v.send(map[string]any{"type": "comment", "id": "c", "text": "hello?"})
		if e := v.refusal("c"); e.Code != "muted" {
			t.Fatalf("muted comment: %+v", e)
		}
		again := n.dial(t, streamID, viewer, -1)
		if snap := decode[snapshot](t, again.next("snapshot").Data); snap.Me.MutedUntil == nil {
			t.Fatal("snapshot does not show the mute")
		}
		if code, _ := n.api(t, "DELETE", fmt.Sprintf("/shops/%d/mutes/%d", shopID, viewerID), mod, nil); code != 204 {
			t.Fatalf("unmute: %d", code)
		}
		v.comment("c2", "thanks")
	})

	t.Run("a banned viewer is told, disconnected and refused on return", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, streamID, viewer, -1)
		v.next("snapshot")
		if code, body := n.api(t, "POST", fmt.Sprintf("/shops/%d/bans", shopID), mod, map[string]any{"user_id": viewerID, "stream_id": streamID}); code != 204 {
			t.Fatalf("ban: %d %s", code, body)
		}
		v.next("banned")
		if code := v.closeStatus(); code != room.CloseBanned {
			t.Fatalf("close code = %d, want %d", code, room.CloseBanned)
		}
		back := n.dial(t, streamID, viewer, -1)
		if e := decode[errData](t, back.next("error").Data); e.Code != "banned" {
			t.Fatalf("on return: %+v", e)
		}
		if code := back.closeStatus(); code != room.CloseBanned {
			t.Fatalf("close code on return = %d", code)
		}
	})

	t.Run("a mute or ban naming another shop's stream is refused and tells nobody", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, 200, viewer, -1)
		v.next("snapshot")
		for _, path := range []string{"mutes", "bans"} {
			code, body := n.api(t, "POST", fmt.Sprintf("/shops/%d/%s", shopID, path), mod,
				map[string]any{"user_id": viewerID, "minutes": 5, "stream_id": 200})
			if code != 422 {
				t.Fatalf("%s with another shop's stream: %d %s, want 422", path, code, body)
			}
		}
		if code, _ := n.api(t, "POST", fmt.Sprintf("/shops/%d/bans", shopID), mod, map[string]any{"user_id": viewerID, "stream_id": 999}); code != 422 {
			t.Fatalf("ban with an unknown stream: %d, want 422", code)
		}
		n.hub.Publish(context.Background(), 200, room.Event{Type: room.EventPurchase, Data: room.Purchase{Buyer: "marker"}})
		v.next("purchase")
		if len(v.all("muted")) != 0 || len(v.all("banned")) != 0 || !v.isOpen() {
			t.Fatal("a moderator of one shop reached another shop's room")
		}
	})

	t.Run("slow mode spaces a viewer's comments but not a moderator's", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, streamID, viewer, -1)
		m := n.dial(t, streamID, mod, -1)
		v.next("snapshot")
		m.next("snapshot")
		m.send(map[string]any{"type": "slow_mode", "id": "s", "seconds": 60})
		m.ack("s")
		if got := decode[struct{ Seconds int }](t, v.next("slow_mode").Data); got.Seconds != 60 {
			t.Fatalf("slow_mode event = %+v", got)
		}
		v.comment("1", "first")
		v.send(map[string]any{"type": "comment", "id": "2", "text": "second"})
		if e := v.refusal("2"); e.Code != "slow_mode" {
			t.Fatalf("second comment: %+v", e)
		}
		m.comment("m1", "mods are not slowed")
		m.comment("m2", "really")
	})

	t.Run("viewers cannot moderate; refusals are audited", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		v := n.dial(t, streamID, viewer, -1)
		v.next("snapshot")
		c := v.comment("c", "hi")
		for i, cmd := range []map[string]any{
			{"type": "remove_comment", "comment_id": c.ID},
			{"type": "mute", "user_id": viewer2ID, "minutes": 5},
			{"type": "ban", "user_id": viewer2ID},
			{"type": "slow_mode", "seconds": 5},
			{"type": "pin", "product_id": productID},
		} {
			id := fmt.Sprint("x", i)
			cmd["id"] = id
			v.send(cmd)
			if e := v.refusal(id); e.Code != "forbidden" {
				t.Errorf("%v: %+v", cmd["type"], e)
			}
		}
		m := n.dial(t, streamID, mod, -1)
		m.next("snapshot")
		m.send(map[string]any{"type": "pin", "id": "mp", "product_id": productID})
		if e := m.refusal("mp"); e.Code != "forbidden" {
			t.Errorf("moderator pinned: %+v", e)
		}
		m.send(map[string]any{"type": "ban", "id": "mb", "user_id": sellerID})
		if e := m.refusal("mb"); e.Code != "forbidden" {
			t.Errorf("moderator banned the seller: %+v", e)
		}
		code, body := n.api(t, "GET", fmt.Sprintf("/shops/%d/moderation/audit", shopID), seller, nil)
		audit := decode[struct{ Entries []room.AuditEntry }](t, body)
		denied := 0
		for _, e := range audit.Entries {
			if e.Action == room.AuditDenied && e.ActorID == viewerID {
				denied++
			}
		}
		if code != 200 || denied != 5 {
			t.Fatalf("audit = %d, %d denied entries by the viewer, want 5: %s", code, denied, body)
		}
		if code, _ := n.api(t, "GET", fmt.Sprintf("/shops/%d/moderation/audit", shopID), viewer, nil); code != 403 {
			t.Fatalf("a viewer read the audit log: %d", code)
		}
	})

	t.Run("the seller pins a product of the shop, not one of another shop", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		s := n.dial(t, streamID, seller, -1)
		v := n.dial(t, streamID, "", -1)
		s.next("snapshot")
		v.next("snapshot")
		if code, body := n.api(t, "PUT", fmt.Sprintf("/streams/%d/pin", streamID), seller, map[string]any{"product_id": foreignPID}); code != 404 {
			t.Fatalf("pin a foreign product: %d %s", code, body)
		}
		if code, body := n.api(t, "PUT", fmt.Sprintf("/streams/%d/pin", streamID), seller, map[string]any{"product_id": productID}); code != 204 {
			t.Fatalf("pin: %d %s", code, body)
		}
		p := decode[struct{ Product room.Product }](t, v.next("pinned").Data)
		if p.Product.Title != "Linen shirt" {
			t.Fatalf("pinned = %+v", p)
		}
		s.send(map[string]any{"type": "unpin", "id": "u"})
		s.ack("u")
		v.next("unpinned")
		code, body := n.api(t, "GET", fmt.Sprintf("/shops/%d/moderation/audit", shopID), mod, nil)
		audit := decode[struct{ Entries []room.AuditEntry }](t, body)
		if code != 200 || len(audit.Entries) != 2 || audit.Entries[0].Action != room.AuditUnpin || audit.Entries[1].ActorName != "Sally Seller" {
			t.Fatalf("audit = %s", body)
		}
	})

	t.Run("a malformed moderator request is refused before the caller is asked who they are", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		for _, c := range []struct {
			name, method, path string
			body               any
			want               int
		}{
			{"pin without a JSON object", "PUT", fmt.Sprintf("/streams/%d/pin", streamID), "not an object", 400},
			{"pin without a product", "PUT", fmt.Sprintf("/streams/%d/pin", streamID), map[string]any{}, 422},
			{"slow mode without a JSON object", "PUT", fmt.Sprintf("/streams/%d/slow-mode", streamID), "x", 400},
			{"approve of no comment", "POST", fmt.Sprintf("/streams/%d/comments/none/approve", streamID), nil, 404},
			{"mute without a user", "POST", fmt.Sprintf("/shops/%d/mutes", shopID), map[string]any{"minutes": 5}, 422},
			{"unban of no user", "DELETE", fmt.Sprintf("/shops/%d/bans/none", shopID), nil, 404},
			{"unmute with a bad stream", "DELETE", fmt.Sprintf("/shops/%d/mutes/%d?stream_id=x", shopID, viewerID), nil, 400},
			{"blocked word without a JSON object", "POST", fmt.Sprintf("/shops/%d/blocked-words", shopID), "x", 400},
			{"audit with a bad page", "GET", fmt.Sprintf("/shops/%d/moderation/audit?limit=-1", shopID), nil, 400},
			{"a well-formed pin", "PUT", fmt.Sprintf("/streams/%d/pin", streamID), map[string]any{"product_id": productID}, 401},
			{"a well-formed unpin", "DELETE", fmt.Sprintf("/streams/%d/pin", streamID), nil, 401},
			{"a well-formed word removal", "DELETE", fmt.Sprintf("/shops/%d/blocked-words/spam", shopID), nil, 401},
		} {
			if code, body := n.api(t, c.method, c.path, "", c.body); code != c.want {
				t.Errorf("%s: anonymous %s %s = %d %s, want %d", c.name, c.method, c.path, code, body, c.want)
			}
		}
	})

	t.Run("blocked words can be listed and removed by moderators only", func(t *testing.T) {
		n := startNode(t, memoryShared(t), nil)
		path := fmt.Sprintf("/shops/%d/blocked-words", shopID)
		n.api(t, "POST", path, mod, map[string]string{"word": "free money"})
		n.api(t, "POST", path, mod, map[string]string{"word": "spam"})
		code, body := n.api(t, "GET", path, mod, nil)
		if code != 200 || string(body) != `{"words":["free money","spam"]}`+"\n" {
			t.Fatalf("list = %d %s", code, body)
		}
		if code, _ := n.api(t, "DELETE", path+"/free%20money", mod, nil); code != 204 {
			t.Fatalf("delete = %d", code)
		}
		if code, _ := n.api(t, "GET", path, viewer, nil); code != 403 {
			t.Fatalf("viewer list = %d", code)
		}
		if code, _ := n.api(t, "POST", path, "", map[string]string{"word": "x"}); code != 401 {
			t.Fatalf("anonymous add = %d", code)
		}
	})
}
