// Package storetest is the contract every room.Store is held to: the
// in-memory store (room) and the SQL store on SQLite and PostgreSQL
// (commerce/sqlstore) run the same suite.
package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

// Store is a room.Store that also stores comments in batches, as every
// store the hub is given does.
type Store interface {
	room.Store
	room.CommentBatcher
}

// Run holds s, an empty store, to the contract.
func Run(t *testing.T, s Store) {
	t.Run("comments", func(t *testing.T) { comments(t, s) })
	t.Run("moderation", func(t *testing.T) { moderation(t, s) })
}

// notFound reports whether err is the store's "not found": room.ErrNotFound
// or any error whose code says so.
func notFound(err error) bool {
	var coded interface{ ErrorCode() string }
	return errors.Is(err, room.ErrNotFound) || errors.As(err, &coded) && coded.ErrorCode() == "not_found"
}

func texts(cs []room.Comment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Text)
	}
	return out
}

func comments(t *testing.T, s Store) {
	ctx := context.Background()
	mk := func(cid, text, status string) (room.Comment, bool) {
		t.Helper()
		c, created, err := s.CreateComment(ctx, room.Comment{StreamID: 7, ShopID: 3, AuthorID: 11,
			AuthorName: "Ann", ClientID: cid, Text: text, Status: status, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return c, created
	}
	first, created := mk("c1", "<b>hello</b>", room.CommentVisible)
	if !created || first.ID == 0 || first.StreamID != 7 || first.AuthorName != "Ann" || first.CreatedAt.IsZero() {
		t.Fatalf("create = %+v, %v", first, created)
	}

	t.Run("a resend with the same client id returns the first comment", func(t *testing.T) {
		again, created := mk("c1", "different text", room.CommentVisible)
		if created || again.ID != first.ID || again.Text != "<b>hello</b>" {
			t.Fatalf("resend = %+v, created %v", again, created)
		}
	})

	t.Run("comments without a client id are never merged", func(t *testing.T) {
		a, _ := mk("", "one", room.CommentVisible)
		b, created := mk("", "two", room.CommentVisible)
		if !created || a.ID == b.ID {
			t.Fatalf("ids %d and %d", a.ID, b.ID)
		}
	})

	t.Run("lists newest first by status, pages with before and after, and hides removed ones", func(t *testing.T) {
		held, _ := mk("h", "held one", room.CommentHeld)
		gone, _ := mk("g", "gone", room.CommentVisible)
		if c, err := s.SetCommentStatus(ctx, 7, gone.ID, room.CommentRemoved); err != nil || c.Status != room.CommentRemoved || c.Text != "gone" {
			t.Fatalf("remove = %+v, %v", c, err)
		}
		vis, err := s.Comments(ctx, 7, room.CommentFilter{Status: room.CommentVisible})
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(vis); !slices.Equal(got, []string{"two", "one", "<b>hello</b>"}) {
			t.Fatalf("visible = %v", got)
		}
		heldList, _ := s.Comments(ctx, 7, room.CommentFilter{Status: room.CommentHeld})
		if len(heldList) != 1 || heldList[0].ID != held.ID {
			t.Fatalf("held = %+v", heldList)
		}
		page, _ := s.Comments(ctx, 7, room.CommentFilter{BeforeID: vis[0].ID, Limit: 1})
		if len(page) != 1 || page[0].Text != "one" {
			t.Fatalf("page = %+v", page)
		}
		if both, _ := s.Comments(ctx, 7, room.CommentFilter{}); len(both) != 4 {
			t.Fatalf("visible and held = %d, want 4", len(both))
		}
		after, _ := s.Comments(ctx, 7, room.CommentFilter{AfterID: vis[1].ID})
		if len(after) != 2 || after[0].ID != held.ID || after[1].ID != vis[0].ID {
			t.Fatalf("after %d = %+v, want the held one and %q, newest first", vis[1].ID, after, vis[0].Text)
		}
		got, err := s.Comment(ctx, 7, gone.ID)
		if err != nil || got.Status != room.CommentRemoved {
			t.Fatalf("removed comment = %+v, %v", got, err)
		}
	})

	t.Run("a batch is stored in one go, resends included", func(t *testing.T) {
		base := room.Comment{StreamID: 9, ShopID: 3, AuthorID: 12, AuthorName: "Bo", Status: room.CommentVisible}
		a, b, again := base, base, base
		a.ClientID, a.Text = "b1", "first"
		b.ClientID, b.Text = "b2", "second"
		again.ClientID, again.Text = "b1", "first, resent"
		stored, created, err := s.CreateComments(ctx, []room.Comment{a, b, again})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(created, []bool{true, true, false}) || stored[2].ID != stored[0].ID || stored[2].Text != "first" || stored[1].ID == stored[0].ID {
			t.Fatalf("batch = %+v, created %v", stored, created)
		}
		if list, _ := s.Comments(ctx, 9, room.CommentFilter{}); !slices.Equal(texts(list), []string{"second", "first"}) {
			t.Fatalf("stored %v, want second and first", texts(list))
		}
	})

	t.Run("a comment of another stream is not found", func(t *testing.T) {
		if _, err := s.Comment(ctx, 8, first.ID); !notFound(err) {
			t.Fatalf("err = %v", err)
		}
		if _, err := s.SetCommentStatus(ctx, 8, first.ID, room.CommentRemoved); !notFound(err) {
			t.Fatalf("err = %v", err)
		}
		if got, _ := s.Comment(ctx, 7, first.ID); got.Status != room.CommentVisible {
			t.Fatalf("the comment changed through another stream: %+v", got)
		}
	})

	t.Run("settings default to zero and keep slow mode, pin and likes apart", func(t *testing.T) {
		st, err := s.RoomSettings(ctx, 7)
		if err != nil || st != (room.RoomSettings{StreamID: 7}) {
			t.Fatalf("fresh settings = %+v, %v", st, err)
		}
		for _, err := range []error{s.SetSlowMode(ctx, 7, 30), s.SetPinned(ctx, 7, 99)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if total, err := s.AddLikes(ctx, 7, 5); err != nil || total != 5 {
			t.Fatalf("likes = %d, %v", total, err)
		}
		total, _ := s.AddLikes(ctx, 7, 3)
		st, _ = s.RoomSettings(ctx, 7)
		if total != 8 || st != (room.RoomSettings{StreamID: 7, SlowModeSeconds: 30, PinnedProductID: 99, Likes: 8}) {
			t.Fatalf("settings = %+v (total %d)", st, total)
		}
		if err := s.SetPinned(ctx, 7, 0); err != nil {
			t.Fatal(err)
		}
		if st, _ = s.RoomSettings(ctx, 7); st.PinnedProductID != 0 || st.Likes != 8 || st.SlowModeSeconds != 30 {
			t.Fatalf("after unpinning = %+v", st)
		}
	})
}

func moderation(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("mutes run until their time, bans until lifted", func(t *testing.T) {
		if r, err := s.Restriction(ctx, 3, 11); err != nil || r.Banned || !r.MutedUntil.IsZero() {
			t.Fatalf("fresh = %+v, %v", r, err)
		}
		until := now.Add(10 * time.Minute)
		must(s.SetMute(ctx, 3, 11, until))
		must(s.SetBan(ctx, 3, 12, true))
		must(s.SetMute(ctx, 3, 13, now.Add(-time.Minute))) // already over
		must(s.SetBan(ctx, 4, 11, true))                   // another shop
		r, _ := s.Restriction(ctx, 3, 11)
		if !r.MutedUntil.Equal(until) || r.Banned {
			t.Fatalf("muted = %+v", r)
		}
		list, err := s.Restrictions(ctx, 3, now)
		if err != nil || len(list) != 2 || list[0].AccountID != 11 || list[1].AccountID != 12 || !list[1].Banned {
			t.Fatalf("active = %+v, %v", list, err)
		}
		must(s.SetMute(ctx, 3, 11, time.Time{}))
		must(s.SetBan(ctx, 3, 12, false))
		if list, _ := s.Restrictions(ctx, 3, now); len(list) != 0 {
			t.Fatalf("after lifting: %+v", list)
		}
		if r, _ := s.Restriction(ctx, 4, 11); !r.Banned {
			t.Fatalf("the other shop's ban = %+v", r)
		}
	})

	t.Run("blocked words are a set per shop", func(t *testing.T) {
		for _, w := range []string{"spam", "free money", "spam"} {
			must(s.AddBlockedWord(ctx, 3, w))
		}
		must(s.AddBlockedWord(ctx, 4, "other"))
		words, err := s.BlockedWords(ctx, 3)
		if err != nil || !slices.Equal(words, []string{"free money", "spam"}) {
			t.Fatalf("words = %v, %v", words, err)
		}
		must(s.RemoveBlockedWord(ctx, 3, "spam"))
		if err := s.RemoveBlockedWord(ctx, 3, "spam"); !notFound(err) {
			t.Fatalf("second remove = %v", err)
		}
		if words, _ := s.BlockedWords(ctx, 4); !slices.Equal(words, []string{"other"}) {
			t.Fatalf("the other shop's words = %v", words)
		}
	})

	t.Run("the audit log lists a shop's actions newest first", func(t *testing.T) {
		for i, action := range []string{room.AuditMute, room.AuditBan, room.AuditRemoveComment} {
			e, err := s.AppendAudit(ctx, room.AuditEntry{ShopID: 3, StreamID: 7, ActorID: 1, ActorName: "Mo",
				Action: action, TargetID: 11, CommentID: int64(i), Detail: "d", At: now})
			if err != nil || e.ID == 0 || e.Action != action {
				t.Fatalf("append = %+v, %v", e, err)
			}
		}
		if _, err := s.AppendAudit(ctx, room.AuditEntry{ShopID: 4, ActorID: 1, ActorName: "Mo", Action: room.AuditBan, At: now}); err != nil {
			t.Fatal(err)
		}
		log, err := s.Audit(ctx, 3, 0, 2)
		if err != nil || len(log) != 2 || log[0].Action != room.AuditRemoveComment || log[1].Action != room.AuditBan {
			t.Fatalf("log = %+v, %v", log, err)
		}
		if !log[0].At.Equal(now) || log[0].ActorName != "Mo" || log[0].StreamID != 7 || log[0].CommentID != 2 || log[0].TargetID != 11 {
			t.Fatalf("entry = %+v", log[0])
		}
		older, _ := s.Audit(ctx, 3, log[1].ID, 10)
		if len(older) != 1 || older[0].Action != room.AuditMute {
			t.Fatalf("older = %+v", older)
		}
	})
}
