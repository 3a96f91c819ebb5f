package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce"
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

// goLiveWithVideo puts the seller's stream on air the way an encoder does:
// synthetic video over loopback to the server at base, until the test ends;
// it returns once the stream's record says live.
func goLiveWithVideo(t *testing.T, base string, seller shopper, st commerce.StreamWithKey) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	publishSynthetic(t, ctx, fmt.Sprintf("%s/api/streams/%d/whip", base, st.ID), loopbackPublisher(st.StreamKey))
	eventually(t, "the stream to go live", stepTimeout, func() bool { return streamStatus(t, seller, st.ID) == commerce.StreamLive })
}
