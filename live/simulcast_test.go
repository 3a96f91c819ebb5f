package live_test

import (
	"strings"
	"testing"
)

// simulcastOffer is the browser's WHIP offer sending its video as three
// simulcast layers (RFC 8853), as Chrome writes it with sendEncodings:
// rids instead of SSRCs.
func simulcastOffer(t *testing.T) string {
	t.Helper()
	offer := readOffer(t, "browser_whip.sdp")
	audio, video, _ := strings.Cut(offer, "m=video")
	var lines []string
	for _, l := range strings.SplitAfter("m=video"+video, "\r\n") {
		if !strings.HasPrefix(l, "a=ssrc") {
			lines = append(lines, l)
		}
	}
	return audio + strings.Join(lines, "") + "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n"
}

// TestSimulcastOfferIsAccepted: a simulcast offer is answered with its
// layers and the RTP stream ID extension that tells them apart (RFC 8852,
// 8853); the SFU forwards the first layer and drops the others (the
// browser test TestBrowserSimulcastPublisherIsWatched sends real layers).
func TestSimulcastOfferIsAccepted(t *testing.T) {
	n := startNode(t, nodeOptions{})
	a := do(t, testClient, call{"POST", n.whip(1), "application/sdp", "key-1", "", simulcastOffer(t)})
	if a.status != 201 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	for _, want := range []string{"a=simulcast:recv q;h;f", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"} {
		if !strings.Contains(a.body, want) {
			t.Fatalf("answer without %q:\n%s", want, a.body)
		}
	}
	if got := codecsIn(a.body)["video"]; len(got) == 0 || got[0] != "96 VP8" {
		t.Fatalf("answer video codecs %v", got)
	}
}
