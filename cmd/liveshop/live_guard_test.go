package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live/liveclient"
)

// whepRefusal subscribes to url and returns the refusal: status, error
// code and Retry-After; it fails the test if the viewer got in.
func whepRefusal(t testing.TB, url string) (status int, code, retryAfter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := liveclient.Subscribe(ctx, url, liveclient.SubscribeOptions{
		Network: liveclient.Network{LoopbackOnly: true}, Client: &http.Client{Timeout: 20 * time.Second}})
	if err == nil {
		_ = sub.Close()
		t.Fatalf("WHEP %s: accepted, want a refusal", url)
	}
	var se *liveclient.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("WHEP %s: %v", url, err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal([]byte(se.Body), &e) != nil || e.Error.Message == "" {
		t.Fatalf("WHEP %s: %d with body %q, not the API's error shape", url, se.Status, se.Body)
	}
	return se.Status, e.Error.Code, se.RetryAfter
}

// TestWHEPTellsAnUnknownStreamFromOneNotLive: a player asking for a stream
// that does not exist gets 404 at once; one asking for a stream that has
// not gone live (or has ended) gets 409 with Retry-After, as before.
func TestWHEPTellsAnUnknownStreamFromOneNotLive(t *testing.T) {
	eachDatabase(t, func(t *testing.T, cfg Config) {
		n := startFlashNode(t, cfg)
		seller := n.srv.shopper(t, "seller@example.com", "Sally")
		shop := seller.openShop("sallys", "USD")
		stream := createStream(t, seller, shop, "Evening show")
		whep := func(id int64) string { return fmt.Sprintf("%s/api/streams/%d/whep", n.URL, id) }

		if status, code, _ := whepRefusal(t, whep(stream+1000)); status != 404 || code != "not_found" {
			t.Errorf("unknown stream: %d %q, want 404 not_found", status, code)
		}
		if status, code, retry := whepRefusal(t, whep(stream)); status != 409 || code != "not_live" || retry == "" {
			t.Errorf("scheduled stream: %d %q Retry-After %q, want 409 not_live with Retry-After", status, code, retry)
		}
		seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", stream), nil)
		if status, code, _ := whepRefusal(t, whep(stream)); status != 409 || code != "not_live" {
			t.Errorf("ended stream: %d %q, want 409 not_live", status, code)
		}
	})
}
