package commerce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
)

// Stream statuses: a stream is scheduled until its publisher connects, live
// while it publishes, and ended for good afterwards (a new show is a new
// stream, with its own room, analytics and orders).
const (
	StreamScheduled = "scheduled"
	StreamLive      = "live"
	StreamEnded     = "ended"
)

// Stream is a live show of a shop. The video itself is the live package's;
// commerce keeps the record: who may publish (the stream key), the status and
// the product line-up. Its ID is also the ID of its chat room.
type Stream struct {
	ID          int64      `json:"id"`
	ShopID      int64      `json:"shop_id"`
	ShopHandle  string     `json:"shop_handle"`
	ShopName    string     `json:"shop_name"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	// ProductIDs is the line-up in show order.
	ProductIDs []int64  `json:"product_ids"`
	Hashtags   []string `json:"hashtags"`
	// PublishURL is the WHIP endpoint publishers POST to, with the stream
	// key as bearer token.
	PublishURL string    `json:"publish_url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// StreamPatch creates or changes a stream; nil fields keep their value.
type StreamPatch struct {
	Title       *string    `json:"title"`
	Description *string    `json:"description"`
	ScheduledAt *time.Time `json:"scheduled_at"`
	ProductIDs  *[]int64   `json:"product_ids"`
	Hashtags    *[]string  `json:"hashtags"`
}

// StreamQuery selects streams for a listing.
type StreamQuery struct {
	ShopID   int64
	Statuses []string
	BeforeID int64
	Limit    int
}

// StreamStore keeps streams.
type StreamStore interface {
	// CreateStream inserts st with the hash of its key, setting ID.
	CreateStream(ctx context.Context, st *Stream, keyHash []byte) error
	StreamByID(ctx context.Context, id int64) (Stream, error)
	// UpdateStream saves title, description, schedule, line-up and hashtags.
	UpdateStream(ctx context.Context, st Stream) error
	SetStreamKeyHash(ctx context.Context, id int64, keyHash []byte) error
	StreamKeyHash(ctx context.Context, id int64) ([]byte, error)
	// SetStreamStatus moves the stream from one of from to to, stamping
	// started_at (to live, first time only) or ended_at (to ended). It
	// reports false when the stream was in none of from.
	SetStreamStatus(ctx context.Context, id int64, from []string, to string, at time.Time) (bool, error)
	ListStreams(ctx context.Context, q StreamQuery) ([]Stream, error)
}

// Errors about streams.
var (
	// ErrStreamEnded means the stream is over; create a new one to go live again.
	ErrStreamEnded = api.New(409, "stream_ended", "this stream has ended; create a new stream to go live again")
	// ErrBadStreamKey means a publisher presented a wrong stream key.
	ErrBadStreamKey = api.New(401, "bad_stream_key", "wrong or missing stream key")
)

const (
	maxStreamProducts = 50
	streamKeyPrefix   = "sk_"
)

// StreamWithKey is a stream as its seller sees it right after creating it or
// rotating its key: the key is shown this once and stored only as a hash.
type StreamWithKey struct {
	Stream
	StreamKey string `json:"stream_key"`
}

// PublishPath is the WHIP URL path of a stream, served by the live package.
func PublishPath(id int64) string { return "/api/streams/" + strconv.FormatInt(id, 10) + "/whip" }

func newStreamKey() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("read stream key: %w", err)
	}
	key := streamKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(key))
	return key, h[:], nil
}

// applyStreamPatch validates p and writes it into st.
func (s *Service) applyStreamPatch(ctx context.Context, st *Stream, p StreamPatch) error {
	var err error
	if p.Title != nil {
		if st.Title, err = api.CleanText("title", *p.Title, maxTitleRunes); err != nil {
			return err
		}
	}
	if p.Description != nil {
		if st.Description, err = cleanText("description", *p.Description, maxDescriptionLen); err != nil {
			return err
		}
	}
	if p.ScheduledAt != nil {
		at := p.ScheduledAt.UTC().Truncate(time.Microsecond)
		if at.Year() < 2000 || at.After(s.now().AddDate(2, 0, 0)) {
			return Invalid("scheduled_at must be within the next two years")
		}
		st.ScheduledAt = at
	}
	if p.Hashtags != nil {
		if st.Hashtags, err = CleanHashtags(*p.Hashtags); err != nil {
			return err
		}
	}
	if p.ProductIDs != nil {
		ids := make([]int64, 0, len(*p.ProductIDs))
		seen := map[int64]bool{}
		for _, id := range *p.ProductIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if len(ids) > maxStreamProducts {
			return Invalid("a stream lines up at most %d products", maxStreamProducts)
		}
		for _, id := range ids {
			prod, err := s.store.ProductByID(ctx, id)
			if errors.Is(err, ErrNotFound) || err == nil && prod.ShopID != st.ShopID {
				return Invalid("product %d is not a product of this shop", id)
			}
			if err != nil {
				return err
			}
		}
		st.ProductIDs = ids
	}
	return nil
}

// CreateStream schedules a stream for the shop (seller or admin) and returns
// it with its stream key, shown this once.
func (s *Service) CreateStream(ctx context.Context, a Account, shopID int64, p StreamPatch) (StreamWithKey, error) {
	shop, err := s.RequireSeller(ctx, a, shopID)
	if err != nil {
		return StreamWithKey{}, err
	}
	if p.Title == nil {
		return StreamWithKey{}, Invalid("title is required")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	st := Stream{ShopID: shop.ID, ShopHandle: shop.Handle, ShopName: shop.Name, Status: StreamScheduled,
		ScheduledAt: now, ProductIDs: []int64{}, Hashtags: []string{}, CreatedAt: now, UpdatedAt: now}
	if err := s.applyStreamPatch(ctx, &st, p); err != nil {
		return StreamWithKey{}, err
	}
	key, hash, err := newStreamKey()
	if err != nil {
		return StreamWithKey{}, err
	}
	if err := s.store.CreateStream(ctx, &st, hash); err != nil {
		return StreamWithKey{}, fmt.Errorf("create stream: %w", err)
	}
	st.PublishURL = PublishPath(st.ID)
	return StreamWithKey{Stream: st, StreamKey: key}, nil
}

// Stream returns a stream's public record (never its key).
func (s *Service) Stream(ctx context.Context, id int64) (Stream, error) {
	return s.store.StreamByID(ctx, id)
}

// SellerStream loads a stream and checks a is its shop's seller or admin.
func (s *Service) SellerStream(ctx context.Context, a Account, id int64) (Stream, error) {
	st, err := s.store.StreamByID(ctx, id)
	if err != nil {
		return Stream{}, err
	}
	_, err = s.RequireSeller(ctx, a, st.ShopID)
	return st, err
}

// UpdateStream changes title, description, schedule, line-up or hashtags.
// An ended stream is history and cannot change.
func (s *Service) UpdateStream(ctx context.Context, a Account, id int64, p StreamPatch) (Stream, error) {
	st, err := s.SellerStream(ctx, a, id)
	if err != nil {
		return Stream{}, err
	}
	if st.Status == StreamEnded {
		return Stream{}, ErrStreamEnded
	}
	if p.ScheduledAt != nil && st.Status != StreamScheduled {
		return Stream{}, Conflict("stream_live", "a stream that is live cannot be rescheduled")
	}
	if err := s.applyStreamPatch(ctx, &st, p); err != nil {
		return Stream{}, err
	}
	st.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateStream(ctx, st); err != nil {
		return Stream{}, fmt.Errorf("update stream %d: %w", id, err)
	}
	return s.store.StreamByID(ctx, id)
}

// RotateStreamKey replaces the stream key; the old one stops working for new
// publish attempts at once, and the StreamKeyNotifier hears of it so that
// an encoder still publishing with the old key is cut off (a leaked key is
// why sellers rotate).
func (s *Service) RotateStreamKey(ctx context.Context, a Account, id int64) (StreamWithKey, error) {
	st, err := s.SellerStream(ctx, a, id)
	if err != nil {
		return StreamWithKey{}, err
	}
	if st.Status == StreamEnded {
		return StreamWithKey{}, ErrStreamEnded
	}
	key, hash, err := newStreamKey()
	if err != nil {
		return StreamWithKey{}, err
	}
	if err := s.store.SetStreamKeyHash(ctx, id, hash); err != nil {
		return StreamWithKey{}, fmt.Errorf("rotate key of stream %d: %w", id, err)
	}
	if n := s.news.listeners().StreamKey; n != nil {
		n.StreamKeyRotated(context.WithoutCancel(ctx), id)
	}
	return StreamWithKey{Stream: st, StreamKey: key}, nil
}

// StreamKeyNotifier hears that a seller rotated a stream's key, so that the
// video can close a publisher still using the old key. cmd/liveshop passes
// the SFU, which re-checks its own publisher at once; an origin on another
// node finds the old key refused when it next re-checks its publisher's
// key. StreamKeyRotated runs on the request's goroutine after the new key
// is stored; it must return quickly and cannot fail the request.
type StreamKeyNotifier interface {
	StreamKeyRotated(ctx context.Context, streamID int64)
}

// StreamEndNotifier hears that a seller ended a stream through the API, so
// that its video stops and its room is told at once, as when the publisher
// leaves. cmd/liveshop adapts the SFU and the room hub to it.
// StreamEnded runs on the request's goroutine after the record changed; it
// must return quickly and cannot fail the request.
type StreamEndNotifier interface {
	StreamEnded(ctx context.Context, streamID int64)
}

// EndStream ends a stream by the seller's hand (or an admin's): a scheduled
// show that will not happen, or a live one that should stop. The
// StreamEndNotifier hears of it when this call ended it.
func (s *Service) EndStream(ctx context.Context, a Account, id int64) (Stream, error) {
	if _, err := s.SellerStream(ctx, a, id); err != nil {
		return Stream{}, err
	}
	ended, err := s.EndStreamRecord(ctx, id)
	if err != nil {
		return Stream{}, err
	}
	if n := s.news.listeners().StreamEnd; ended && n != nil {
		n.StreamEnded(context.WithoutCancel(ctx), id)
	}
	return s.store.StreamByID(ctx, id)
}

// AuthorizePublish checks a publisher's stream key: nil when key is the
// stream's current key and the stream has not ended. The live package calls
// it (through a cmd adapter) on every WHIP request. Keys are compared as
// SHA-256 hashes in constant time.
func (s *Service) AuthorizePublish(ctx context.Context, streamID int64, key string) error {
	stored, err := s.store.StreamKeyHash(ctx, streamID)
	if err != nil {
		return err
	}
	key = strings.TrimSpace(key)
	given := sha256.Sum256([]byte(key))
	if key == "" || subtle.ConstantTimeCompare(given[:], stored) != 1 {
		return ErrBadStreamKey
	}
	st, err := s.store.StreamByID(ctx, streamID)
	if err != nil {
		return err
	}
	if st.Status == StreamEnded {
		return ErrStreamEnded
	}
	return nil
}

// MarkStreamLive records that the stream's publisher is on air: scheduled →
// live, stamping the start time once. Calling it again while live is a
// no-op (a publisher reconnecting within the grace period, or on another
// node); on an ended stream it is ErrStreamEnded.
func (s *Service) MarkStreamLive(ctx context.Context, id int64) error {
	_, err := s.StartStreamRecord(ctx, id)
	return err
}

// StartStreamRecord is MarkStreamLive that also reports whether this call
// put the stream live (false: it was live already), so that the room hears
// that a show started once, not each time its publisher moves to another
// node.
func (s *Service) StartStreamRecord(ctx context.Context, id int64) (started bool, err error) {
	changed, err := s.store.SetStreamStatus(ctx, id, []string{StreamScheduled}, StreamLive, s.now())
	if changed && err == nil {
		s.noteStreamLive(ctx, id)
	}
	if err != nil || changed {
		return changed, err
	}
	st, err := s.store.StreamByID(ctx, id)
	if err != nil {
		return false, err
	}
	if st.Status == StreamEnded {
		return false, ErrStreamEnded
	}
	return false, nil
}

// MarkStreamEnded records that the stream is over (publisher gone past the
// grace period, or ended by the seller). Ending an ended stream is a no-op.
func (s *Service) MarkStreamEnded(ctx context.Context, id int64) error {
	_, err := s.EndStreamRecord(ctx, id)
	return err
}

// EndStreamRecord is MarkStreamEnded that also reports whether this call
// ended the stream (false: it had ended already), so that the one who ended
// it, and only they, tells the room.
func (s *Service) EndStreamRecord(ctx context.Context, id int64) (ended bool, err error) {
	changed, err := s.store.SetStreamStatus(ctx, id, []string{StreamScheduled, StreamLive}, StreamEnded, s.now())
	if err != nil || changed {
		return changed, err
	}
	_, err = s.store.StreamByID(ctx, id) // ErrNotFound for unknown streams
	return false, err
}

// StreamInfo is what a room needs to know about its stream.
type StreamInfo struct {
	ID     int64
	ShopID int64
	Title  string
	Status string
}

// StreamShop tells rooms which shop a stream belongs to, and its status.
func (s *Service) StreamShop(ctx context.Context, streamID int64) (StreamInfo, error) {
	st, err := s.store.StreamByID(ctx, streamID)
	if err != nil {
		return StreamInfo{}, err
	}
	return StreamInfo{ID: st.ID, ShopID: st.ShopID, Title: st.Title, Status: st.Status}, nil
}

// StreamFilter is a stream listing request.
type StreamFilter struct {
	// ShopID limits the list to one shop; 0 lists every shop's.
	ShopID int64
	// Status is live (the default without a shop: "live now"), scheduled,
	// ended, or all (the default for one shop).
	Status string
	PageRequest
}

// Streams lists streams newest first.
func (s *Service) Streams(ctx context.Context, f StreamFilter) ([]Stream, string, error) {
	before, limit, err := f.Parse()
	if err != nil {
		return nil, "", err
	}
	status := f.Status
	if status == "" {
		status = StreamLive
		if f.ShopID != 0 {
			status = "all"
		}
	}
	q := StreamQuery{ShopID: f.ShopID, BeforeID: before, Limit: limit + 1}
	switch status {
	case StreamLive, StreamScheduled, StreamEnded:
		q.Statuses = []string{status}
	case "all":
	default:
		return nil, "", BadRequest("status must be live, scheduled, ended or all")
	}
	if f.ShopID != 0 {
		if _, err := s.store.ShopByID(ctx, f.ShopID); err != nil {
			return nil, "", err
		}
	}
	streams, err := s.store.ListStreams(ctx, q)
	if err != nil {
		return nil, "", err
	}
	streams, next := api.CutPage(streams, limit, func(st Stream) int64 { return st.ID })
	return streams, next, nil
}
