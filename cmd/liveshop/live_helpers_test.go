package main

import (
	"context"
	"testing"

	"github.com/liveshop/liveshop/live/liveclient"
)

// publishSynthetic connects an encoder to the WHIP endpoint whip and sends
// synthetic video at 300 kbit/s until the test ends.
func publishSynthetic(t testing.TB, ctx context.Context, whip string, opts liveclient.PublishOptions) *liveclient.Publisher {
	t.Helper()
	pub, err := liveclient.Publish(ctx, whip, opts)
	if err != nil {
		t.Fatalf("publish %s: %v", opts.Video, err)
	}
	sendSynthetic(t, pub)
	return pub
}

// sendSynthetic sends synthetic video at 300 kbit/s on pub until the test
// ends.
func sendSynthetic(t testing.TB, pub *liveclient.Publisher) {
	sending, stop := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_ = pub.Send(sending, 300_000)
	}()
	t.Cleanup(func() {
		stop()
		<-sent
		_ = pub.Close()
	})
}
