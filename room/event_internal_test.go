package room

import (
	"testing"
	"time"
)

// A room re-applies events from its ring after a resync; their data is read
// back from the client encoding.
func TestRoomEventDataRoundTrip(t *testing.T) {
	for _, c := range []struct {
		seq uint64
		ev  Event
	}{
		{1, Event{Type: EventComment, Data: CommentView{ID: 7, Text: `say "hi" }`}}},
		{18446744073709551615, Event{Type: EventMuted, Data: mutedData{5, time.Unix(1700000000, 0).UTC()}}},
		{42, Event{Type: EventUnpinned}},
	} {
		payload, err := encodeEnvelope(c.ev, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ev, data, _, err := decodeEvent(Message{Seq: c.seq, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(ev.data()); got != string(data) {
			t.Errorf("%s at %d: data() = %s, want %s", c.ev.Type, c.seq, got, data)
		}
	}
}
