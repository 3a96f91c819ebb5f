package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveshop/liveshop/live/liveclient"
)

// encoderPage is a server with a seller's stream, its stream key, and a
// browser tab on the site whose testCamera(width, height) returns a
// MediaStream of changing colours, for publishing without a camera.
func encoderPage(t *testing.T) (*testServer, liveShop, string, *tab) {
	t.Helper()
	srv := startServer(t, testConfig(t)) // loopback-only WebRTC
	b := newBrowser(t, srv.URL)
	ls := newLiveShop(t, srv)
	var key struct {
		StreamKey string `json:"stream_key"`
	}
	ls.seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/key", ls.streamID), nil).decode(t, &key)
	p := b.user("encoder", desktop)
	p.open("/")
	evalJS[bool](p, `(() => {
		window.testCamera = (width, height) => {
			const canvas = Object.assign(document.createElement('canvas'), { width, height });
			const g = canvas.getContext('2d');
			let n = 0;
			setInterval(() => { g.fillStyle = 'hsl(' + (n++ * 7 % 360) + ',80%,50%)'; g.fillRect(0, 0, width, height); }, 40);
			return canvas.captureStream(25);
		};
		return true;
	})()`)
	return srv, ls, key.StreamKey, p
}

// TestBrowserPublisherGivesUpOnAnEndedStream: whip.js's Publisher, after
// losing its connection, publishes again — but not forever on a stream
// that has ended (409 stream_ended): it reports "failed" with a message
// for the seller. The rules for other answers are checked on finalError,
// and the wait between tries on retryDelay: when the server says when to
// come back (Retry-After on 409 publisher_active, the time until a
// crashed node's claim lapses), the publisher comes back then.
func TestBrowserPublisherGivesUpOnAnEndedStream(t *testing.T) {
	_, ls, key, p := encoderPage(t)

	t.Run("finalError: which answers end the retries", func(t *testing.T) {
		got := evalJS[string](p, `(async () => {
			const { finalError } = await import('/assets/js/whip.js');
			const e = (status, code) => Object.assign(new Error('server says'), { status, code });
			const cases = [
				[e(409, 'stream_ended'), 0],
				[e(409, 'publisher_active'), 1000],
				[e(409, 'publisher_active'), 60000],
				[e(401, 'bad_stream_key'), 0],
				[e(404, 'not_found'), 0],
				[e(422, 'no_usable_codec'), 0],
				[e(503, 'unavailable'), 0],
				[e(429, 'rate_limited'), 0],
				[e(0, 'network'), 0],
			];
			return cases.map(([err, ms]) => err.status + ' ' + err.code + ': ' + (finalError(err, ms)?.message ?? 'retry')).join('\n');
		})()`)
		for _, want := range []string{
			"409 stream_ended: This stream has ended.",
			"409 publisher_active: retry",
			"409 publisher_active: Another encoder is live on this stream.",
			"401 bad_stream_key: The stream key is no longer valid",
			"404 not_found: This stream no longer exists.",
			"422 no_usable_codec: server says",
			"503 unavailable: retry",
			"429 rate_limited: retry",
			"0 network: retry",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("finalError answers\n%s\nwant a line starting %q", got, want)
			}
		}
	})

	t.Run("retryDelay: the server's Retry-After, else the backoff", func(t *testing.T) {
		got := evalJS[string](p, `(async () => {
			const { retryDelay } = await import('/assets/js/whip.js');
			const e = (status, code, retryAfter) => Object.assign(new Error('server says'), { status, code, retryAfter });
			return [
				retryDelay(e(409, 'publisher_active', 3), 8000),
				retryDelay(e(409, 'publisher_active', 12), 2000),
				retryDelay(e(409, 'publisher_active', 0), 4000),
				retryDelay(e(0, 'network', 0), 2000),
			].join(' ');
		})()`)
		if want := "3000 12000 4000 2000"; got != want {
			t.Errorf("retryDelay: %s, want %s", got, want)
		}
	})

	t.Run("a reconnect to an ended stream stops with a message", func(t *testing.T) {
		evalJS[bool](p, fmt.Sprintf(`(async () => {
			const { Publisher } = await import('/assets/js/whip.js');
			window.states = [];
			window.pub = new Publisher(%d, %s, { onState: (s, err) => window.states.push(err ? s + ': ' + err.message : s) });
			await window.pub.start(testCamera(160, 120));
			return true;
		})()`, ls.streamID, jsString(key)))
		p.waitJS("the publisher connected", `window.states.includes('connected')`)
		ls.seller.expect(200, "POST", fmt.Sprintf("/api/streams/%d/end", ls.streamID), nil)
		// What the connection failing starts; the old code retried forever.
		last := evalJS[string](p, `window.pub.reconnect().then(() => window.states.at(-1))`)
		if !strings.HasPrefix(last, "failed: This stream has ended.") {
			t.Fatalf("last state %q, states %v", last, evalJS[[]string](p, `window.states`))
		}
	})
}

// TestBrowserSimulcastPublisherIsWatched: a browser publishing with
// simulcast (two encodings, by rid) is accepted; the SFU forwards the
// first layer (and drops the other), and a viewer gets its video.
func TestBrowserSimulcastPublisherIsWatched(t *testing.T) {
	srv, ls, key, p := encoderPage(t)
	answer := evalJS[string](p, fmt.Sprintf(`(async () => {
		const { negotiate } = await import('/assets/js/webrtc.js');
		const track = testCamera(640, 360).getVideoTracks()[0];
		const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
		pc.addTransceiver(track, { direction: 'sendonly',
			sendEncodings: [{ rid: 'h' }, { rid: 'l', scaleResolutionDownBy: 2 }] });
		window.pc = pc;
		const offer = await pc.createOffer();
		if (!offer.sdp.includes('a=simulcast:send')) throw new Error('the browser offered no simulcast');
		await negotiate(pc, new URL('/api/streams/%d/whip', location.href).href, { token: %s });
		return pc.remoteDescription.sdp;
	})()`, ls.streamID, jsString(key)))
	if !strings.Contains(answer, "a=simulcast:recv h;l") {
		t.Fatalf("answer does not take the simulcast layers:\n%s", answer)
	}
	p.waitJS("the publisher connected", `window.pc.connectionState === 'connected'`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := liveclient.Subscribe(ctx, fmt.Sprintf("%s/api/streams/%d/whep", srv.URL, ls.streamID),
		liveclient.SubscribeOptions{Network: liveclient.Network{LoopbackOnly: true}, NoAudio: true})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	select {
	case <-sub.FirstKeyframe():
	case <-ctx.Done():
		t.Fatalf("no keyframe from the simulcast publisher (%d video packets)", sub.VideoPackets.Load())
	}
}
