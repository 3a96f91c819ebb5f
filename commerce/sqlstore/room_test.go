package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/sqlstore"
	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
)

func TestRoomComments(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mk := func(cid, text, status string) (commerce.RoomComment, bool) {
			t.Helper()
			c, created, err := db.CreateRoomComment(ctx, commerce.RoomComment{StreamID: 7, ShopID: 3, AuthorID: 11,
				AuthorName: "Ann", ClientID: cid, Text: text, Status: status, CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return c, created
		}
		first, created := mk("c1", "<b>hello</b>", commerce.CommentVisible)
		if !created || first.ID == 0 {
			t.Fatalf("create = %+v, %v", first, created)
		}

		t.Run("a resend with the same client id returns the first comment", func(t *testing.T) {
			again, created := mk("c1", "different text", commerce.CommentVisible)
			if created || again.ID != first.ID || again.Text != "<b>hello</b>" {
				t.Fatalf("resend = %+v, created %v", again, created)
			}
		})

		t.Run("comments without a client id are never merged", func(t *testing.T) {
			a, _ := mk("", "one", commerce.CommentVisible)
			b, created := mk("", "two", commerce.CommentVisible)
			if !created || a.ID == b.ID {
				t.Fatalf("ids %d and %d", a.ID, b.ID)
			}
		})

		t.Run("lists newest first by status, pages with before and after, and hides removed ones", func(t *testing.T) {
			held, _ := mk("h", "held one", commerce.CommentHeld)
			gone, _ := mk("g", "gone", commerce.CommentVisible)
			if _, err := db.SetRoomCommentStatus(ctx, 7, gone.ID, commerce.CommentRemoved); err != nil {
				t.Fatal(err)
			}
			vis, err := db.RoomComments(ctx, 7, commerce.RoomCommentFilter{Status: commerce.CommentVisible})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, c := range vis {
				texts = append(texts, c.Text)
			}
			if !slices.Equal(texts, []string{"two", "one", "<b>hello</b>"}) {
				t.Fatalf("visible = %v", texts)
			}
			heldList, _ := db.RoomComments(ctx, 7, commerce.RoomCommentFilter{Status: commerce.CommentHeld})
			if len(heldList) != 1 || heldList[0].ID != held.ID {
				t.Fatalf("held = %+v", heldList)
			}
			page, _ := db.RoomComments(ctx, 7, commerce.RoomCommentFilter{BeforeID: vis[0].ID, Limit: 1})
			if len(page) != 1 || page[0].Text != "one" {
				t.Fatalf("page = %+v", page)
			}
			both, _ := db.RoomComments(ctx, 7, commerce.RoomCommentFilter{})
			if len(both) != 4 {
				t.Fatalf("visible and held = %d, want 4", len(both))
			}
			after, _ := db.RoomComments(ctx, 7, commerce.RoomCommentFilter{AfterID: vis[1].ID})
			if len(after) != 2 || after[0].ID != held.ID || after[1].ID != vis[0].ID {
				t.Fatalf("after %d = %+v, want the held one and %q, newest first", vis[1].ID, after, vis[0].Text)
			}
			got, err := db.RoomComment(ctx, 7, gone.ID)
			if err != nil || got.Status != commerce.CommentRemoved {
				t.Fatalf("removed comment = %+v, %v", got, err)
			}
		})

		t.Run("a batch is stored in one go, resends included", func(t *testing.T) {
			base := commerce.RoomComment{StreamID: 9, ShopID: 3, AuthorID: 12, AuthorName: "Bo", Status: commerce.CommentVisible}
			a, b, again := base, base, base
			a.ClientID, a.Text = "b1", "first"
			b.ClientID, b.Text = "b2", "second"
			again.ClientID, again.Text = "b1", "first, resent"
			stored, created, err := db.CreateRoomComments(ctx, []commerce.RoomComment{a, b, again})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(created, []bool{true, true, false}) || stored[2].ID != stored[0].ID || stored[2].Text != "first" || stored[1].ID == stored[0].ID {
				t.Fatalf("batch = %+v, created %v", stored, created)
			}
			if list, _ := db.RoomComments(ctx, 9, commerce.RoomCommentFilter{}); len(list) != 2 {
				t.Fatalf("stored %d comments, want 2", len(list))
			}
		})

		t.Run("a comment of another stream is not found", func(t *testing.T) {
			if _, err := db.RoomComment(ctx, 8, first.ID); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
			if _, err := db.SetRoomCommentStatus(ctx, 8, first.ID, commerce.CommentRemoved); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})

		t.Run("settings default to zero and keep slow mode, pin and likes apart", func(t *testing.T) {
			s, err := db.RoomSettings(ctx, 7)
			if err != nil || s != (commerce.RoomSettings{StreamID: 7}) {
				t.Fatalf("fresh settings = %+v, %v", s, err)
			}
			db.SetRoomSlowMode(ctx, 7, 30)
			db.SetRoomPinned(ctx, 7, 99)
			if total, err := db.AddRoomLikes(ctx, 7, 5); err != nil || total != 5 {
				t.Fatalf("likes = %d, %v", total, err)
			}
			total, _ := db.AddRoomLikes(ctx, 7, 3)
			s, _ = db.RoomSettings(ctx, 7)
			if total != 8 || s != (commerce.RoomSettings{StreamID: 7, SlowModeSeconds: 30, PinnedProductID: 99, Likes: 8}) {
				t.Fatalf("settings = %+v (total %d)", s, total)
			}
		})
	})
}

func TestRoomModeration(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)

		t.Run("mutes run until their time, bans until lifted", func(t *testing.T) {
			if r, err := db.RoomRestriction(ctx, 3, 11); err != nil || r.Banned || !r.MutedUntil.IsZero() {
				t.Fatalf("fresh = %+v, %v", r, err)
			}
			until := now.Add(10 * time.Minute)
			db.SetRoomMute(ctx, 3, 11, until)
			db.SetRoomBan(ctx, 3, 12, true)
			db.SetRoomMute(ctx, 3, 13, now.Add(-time.Minute)) // already over
			db.SetRoomBan(ctx, 4, 11, true)                   // another shop
			r, _ := db.RoomRestriction(ctx, 3, 11)
			if !r.MutedUntil.Equal(until) || r.Banned {
				t.Fatalf("muted = %+v", r)
			}
			list, err := db.RoomRestrictions(ctx, 3, now)
			if err != nil || len(list) != 2 || list[0].AccountID != 11 || !list[1].Banned {
				t.Fatalf("active = %+v, %v", list, err)
			}
			db.SetRoomMute(ctx, 3, 11, time.Time{})
			db.SetRoomBan(ctx, 3, 12, false)
			if list, _ := db.RoomRestrictions(ctx, 3, now); len(list) != 0 {
				t.Fatalf("after lifting: %+v", list)
			}
		})

		t.Run("blocked words are a set per shop", func(t *testing.T) {
			db.AddRoomBlockedWord(ctx, 3, "spam")
			db.AddRoomBlockedWord(ctx, 3, "free money")
			db.AddRoomBlockedWord(ctx, 3, "spam")
			db.AddRoomBlockedWord(ctx, 4, "other")
			words, err := db.RoomBlockedWords(ctx, 3)
			if err != nil || !slices.Equal(words, []string{"free money", "spam"}) {
				t.Fatalf("words = %v, %v", words, err)
			}
			if err := db.RemoveRoomBlockedWord(ctx, 3, "spam"); err != nil {
				t.Fatal(err)
			}
			if err := db.RemoveRoomBlockedWord(ctx, 3, "spam"); !errors.Is(err, commerce.ErrNotFound) {
				t.Fatalf("second remove = %v", err)
			}
		})

		t.Run("the audit log lists a shop's actions newest first", func(t *testing.T) {
			for i, action := range []string{"mute", "ban", "remove_comment"} {
				e, err := db.AppendModeration(ctx, commerce.ModerationEntry{ShopID: 3, StreamID: 7, ActorID: 1, ActorName: "Mo",
					Action: action, TargetID: 11, CommentID: int64(i), Detail: "d", At: now})
				if err != nil || e.ID == 0 {
					t.Fatalf("append = %+v, %v", e, err)
				}
			}
			db.AppendModeration(ctx, commerce.ModerationEntry{ShopID: 4, ActorID: 1, ActorName: "Mo", Action: "ban", At: now})
			log, err := db.ModerationLog(ctx, 3, 0, 2)
			if err != nil || len(log) != 2 || log[0].Action != "remove_comment" || log[1].Action != "ban" {
				t.Fatalf("log = %+v, %v", log, err)
			}
			if !log[0].At.Equal(now) || log[0].ActorName != "Mo" || log[0].StreamID != 7 || log[0].CommentID != 2 {
				t.Fatalf("entry = %+v", log[0])
			}
			older, _ := db.ModerationLog(ctx, 3, log[1].ID, 10)
			if len(older) != 1 || older[0].Action != "mute" {
				t.Fatalf("older = %+v", older)
			}
		})
	})
}
