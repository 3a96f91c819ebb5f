package room

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is the single-process Store for tests and tools: everything
// lives in maps behind one mutex and is lost on exit. Production uses the
// SQL store (commerce/sqlstore's Rooms).
type MemoryStore struct {
	mu        sync.Mutex
	nextID    int64
	comments  map[int64]*Comment // by ID
	byClient  map[clientKey]int64
	byStream  map[int64][]int64 // comment IDs in creation order
	restrict  map[[2]int64]Restriction
	settings  map[int64]RoomSettings
	words     map[int64]map[string]bool
	audit     []AuditEntry
	nextAudit int64
}

type clientKey struct {
	stream, author int64
	client         string
}

var (
	_ Store          = (*MemoryStore)(nil)
	_ CommentBatcher = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		comments: map[int64]*Comment{},
		byClient: map[clientKey]int64{},
		byStream: map[int64][]int64{},
		restrict: map[[2]int64]Restriction{},
		settings: map[int64]RoomSettings{},
		words:    map[int64]map[string]bool{},
	}
}

// CreateComment implements Store.
func (s *MemoryStore) CreateComment(_ context.Context, c Comment) (Comment, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := clientKey{c.StreamID, c.AuthorID, c.ClientID}
	if c.ClientID != "" {
		if id, ok := s.byClient[key]; ok {
			return *s.comments[id], false, nil
		}
	}
	s.nextID++
	c.ID = s.nextID
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	c.CreatedAt = c.CreatedAt.Truncate(time.Microsecond)
	s.comments[c.ID] = &c
	if c.ClientID != "" {
		s.byClient[key] = c.ID
	}
	s.byStream[c.StreamID] = append(s.byStream[c.StreamID], c.ID)
	return c, true, nil
}

// CreateComments implements CommentBatcher.
func (s *MemoryStore) CreateComments(ctx context.Context, cs []Comment) ([]Comment, []bool, error) {
	stored, created := make([]Comment, len(cs)), make([]bool, len(cs))
	for i, c := range cs {
		stored[i], created[i], _ = s.CreateComment(ctx, c)
	}
	return stored, created, nil
}

// Comment implements Store.
func (s *MemoryStore) Comment(_ context.Context, streamID, id int64) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.comments[id]
	if !ok || c.StreamID != streamID {
		return Comment{}, fmt.Errorf("comment %d: %w", id, ErrNotFound)
	}
	return *c, nil
}

// SetCommentStatus implements Store.
func (s *MemoryStore) SetCommentStatus(_ context.Context, streamID, id int64, status string) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.comments[id]
	if !ok || c.StreamID != streamID {
		return Comment{}, fmt.Errorf("comment %d: %w", id, ErrNotFound)
	}
	c.Status = status
	return *c, nil
}

// Comments implements Store.
func (s *MemoryStore) Comments(_ context.Context, streamID int64, f CommentFilter) ([]Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.byStream[streamID]
	var out []Comment
	for i := len(ids) - 1; i >= 0 && (f.Limit <= 0 || len(out) < f.Limit); i-- {
		c := s.comments[ids[i]]
		if f.BeforeID > 0 && c.ID >= f.BeforeID || c.ID <= f.AfterID {
			continue
		}
		if f.Status == "" && c.Status == CommentRemoved || f.Status != "" && c.Status != f.Status {
			continue
		}
		out = append(out, *c)
	}
	return out, nil
}

// Restriction implements Store.
func (s *MemoryStore) Restriction(_ context.Context, shopID, accountID int64) (Restriction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.restrict[[2]int64{shopID, accountID}]
	if !ok {
		return Restriction{ShopID: shopID, AccountID: accountID}, nil
	}
	return r, nil
}

func (s *MemoryStore) updateRestriction(shopID, accountID int64, fn func(*Restriction)) {
	k := [2]int64{shopID, accountID}
	r, ok := s.restrict[k]
	if !ok {
		r = Restriction{ShopID: shopID, AccountID: accountID}
	}
	fn(&r)
	s.restrict[k] = r
}

// SetMute implements Store.
func (s *MemoryStore) SetMute(_ context.Context, shopID, accountID int64, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateRestriction(shopID, accountID, func(r *Restriction) { r.MutedUntil = until.UTC().Truncate(time.Microsecond) })
	return nil
}

// SetBan implements Store.
func (s *MemoryStore) SetBan(_ context.Context, shopID, accountID int64, banned bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateRestriction(shopID, accountID, func(r *Restriction) { r.Banned = banned })
	return nil
}

// Restrictions implements Store.
func (s *MemoryStore) Restrictions(_ context.Context, shopID int64, now time.Time) ([]Restriction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Restriction
	for k, r := range s.restrict {
		if k[0] == shopID && r.Active(now) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Restriction) int { return int(a.AccountID - b.AccountID) })
	return out, nil
}

// RoomSettings implements Store.
func (s *MemoryStore) RoomSettings(_ context.Context, streamID int64) (RoomSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settings[streamID]
	st.StreamID = streamID
	return st, nil
}

func (s *MemoryStore) updateSettings(streamID int64, fn func(*RoomSettings)) RoomSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settings[streamID]
	st.StreamID = streamID
	fn(&st)
	s.settings[streamID] = st
	return st
}

// SetSlowMode implements Store.
func (s *MemoryStore) SetSlowMode(_ context.Context, streamID int64, seconds int) error {
	s.updateSettings(streamID, func(st *RoomSettings) { st.SlowModeSeconds = seconds })
	return nil
}

// SetPinned implements Store.
func (s *MemoryStore) SetPinned(_ context.Context, streamID, productID int64) error {
	s.updateSettings(streamID, func(st *RoomSettings) { st.PinnedProductID = productID })
	return nil
}

// AddLikes implements Store.
func (s *MemoryStore) AddLikes(_ context.Context, streamID, n int64) (int64, error) {
	return s.updateSettings(streamID, func(st *RoomSettings) { st.Likes += n }).Likes, nil
}

// BlockedWords implements Store.
func (s *MemoryStore) BlockedWords(_ context.Context, shopID int64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.words[shopID]))
	for w := range s.words[shopID] {
		out = append(out, w)
	}
	slices.Sort(out)
	return out, nil
}

// AddBlockedWord implements Store.
func (s *MemoryStore) AddBlockedWord(_ context.Context, shopID int64, word string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.words[shopID] == nil {
		s.words[shopID] = map[string]bool{}
	}
	s.words[shopID][word] = true
	return nil
}

// RemoveBlockedWord implements Store.
func (s *MemoryStore) RemoveBlockedWord(_ context.Context, shopID int64, word string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.words[shopID][word] {
		return fmt.Errorf("blocked word %q: %w", word, ErrNotFound)
	}
	delete(s.words[shopID], word)
	return nil
}

// AppendAudit implements Store.
func (s *MemoryStore) AppendAudit(_ context.Context, e AuditEntry) (AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextAudit++
	e.ID = s.nextAudit
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	e.At = e.At.Truncate(time.Microsecond)
	s.audit = append(s.audit, e)
	return e, nil
}

// Audit implements Store.
func (s *MemoryStore) Audit(_ context.Context, shopID, beforeID int64, limit int) ([]AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AuditEntry
	for i := len(s.audit) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		e := s.audit[i]
		if e.ShopID == shopID && (beforeID <= 0 || e.ID < beforeID) {
			out = append(out, e)
		}
	}
	return out, nil
}
