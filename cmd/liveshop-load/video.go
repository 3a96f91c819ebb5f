package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/liveshop/liveshop/live/liveclient"
)

// runVideo is the video scenario: one synthetic publisher sends VP8 at
// -bitrate plus Opus to the first target over WHIP, and N WHEP subscribers
// spread over the targets watch it. It reports subscribers held, loss, the
// time from WHEP POST to the first keyframe (p50/p95/p99), packets per
// subscriber, and the servers' CPU per subscriber over the measuring
// window, which starts once every subscriber has joined.
//
// WebRTC runs on loopback only: start the servers with --webrtc-loopback
// --webrtc-ip-networks 127.0.0.0/8 (and run everything inside
// `unshare -n`, as .ci/test-in-netns does). The server must let the scenario sign up
// its seller (--signup-limit-ip -1 when it runs often), and take all its
// subscribers from one address: --live-max-viewers-per-ip 0
// --live-whep-rate 0 (and --live-max-viewers-per-stream above N).
func runVideo(ctx context.Context, args []string) (*result, error) {
	fs, c := newFlags("video")
	subscribers := fs.Int("subscribers", 200, "WHEP subscribers, spread over the targets")
	bitrate := fs.Int("bitrate", 1_500_000, "publisher video bitrate in bits per second (30 frames/s; Opus audio on top)")
	joinRate := fs.Float64("join-rate", 50, "subscribers joining per second while ramping up")
	streamID := fs.Int64("stream", 0, "stream to publish to; 0 creates a seller, shop and stream")
	streamKey := fs.String("key", "", "stream key of -stream")
	codec := fs.String("codec", liveclient.VP8, "publisher video codec: VP8 or H264")
	probes := fs.Int("probes", 10, "viewers that join one by one during the measuring window, for probe_join_p99_ms")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile of the measuring window to this file")
	if err := c.parse(fs, args); err != nil {
		return nil, err
	}
	if *subscribers < 1 || *bitrate < 10_000 || *joinRate <= 0 {
		return nil, errors.New("-subscribers, -bitrate and -join-rate must be positive (bitrate at least 10000)")
	}
	res := c.newResult(map[string]any{"subscribers": *subscribers, "bitrate": *bitrate, "codec": *codec, "targets": len(c.targets)})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, err
	}
	vl := &videoLoad{c: c, api: newAPIClient(c, 30*time.Second, 0, 0),
		net: liveclient.Network{LoopbackOnly: true, ReadBuffer: 2 << 20, Certificate: cert}}

	id, k := *streamID, *streamKey
	if id == 0 {
		if id, k, err = vl.createStream(ctx); err != nil {
			return nil, fmt.Errorf("set up: %w", err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	pub, err := liveclient.Publish(pctx, fmt.Sprintf("%s/api/streams/%d/whip", c.targets[0], id),
		liveclient.PublishOptions{Network: vl.net, Client: vl.api.http, Key: k, Video: *codec})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	defer pub.Close()
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	go func() { _ = pub.Send(sendCtx, *bitrate) }()

	connect, phases := &latencies{}, &joinPhases{answer: &latencies{}, ice: &latencies{}}
	subs, errs := vl.join(ctx, id, *subscribers, *joinRate, res.Latency, connect, phases)
	res.Errors = errs
	defer func() {
		var wg sync.WaitGroup
		for _, s := range subs {
			wg.Go(func() { _ = s.Stop(context.Background()) })
		}
		wg.Wait()
	}()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	before := snapshot(subs)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	probeLat := &latencies{}
	var probeErrs atomic.Int64
	var probeWG sync.WaitGroup
	var after []subCounts
	err = measureServer(res, c.pids, func() error {
		// Probe viewers join one at a time while the crowd watches: the
		// join time a newcomer sees on a loaded server, apart from the
		// ramp's thundering herd.
		start := time.Now()
		for i := 0; i < *probes; i++ {
			at := start.Add(c.duration * time.Duration(i) / time.Duration(*probes))
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
				return ctx.Err()
			}
			url := fmt.Sprintf("%s/api/streams/%d/whep", c.target(i), id)
			probeWG.Go(func() { vl.probe(ctx, url, probeLat, &probeErrs) })
		}
		select {
		case <-time.After(time.Until(start.Add(c.duration))):
			after = snapshot(subs)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	probeWG.Wait()
	if err != nil {
		return nil, err
	}
	res.Errors += probeErrs.Load()

	// A subscriber is held when its connection is up and it received at
	// least half of what the stream sent it during the window.
	var expected, received, held int64
	var maxExpected int64
	for i := range subs {
		e := after[i].expected - before[i].expected
		maxExpected = max(maxExpected, e)
	}
	for i, s := range subs {
		e, r := after[i].expected-before[i].expected, after[i].received-before[i].received
		expected += e
		received += min(r, e)
		select {
		case <-s.Down():
			continue
		default:
		}
		if maxExpected > 0 && r*2 >= maxExpected {
			held++
		}
	}
	lossPct := 0.0
	if expected > 0 {
		lossPct = 100 * float64(expected-received) / float64(expected)
	}
	res.RatePerS = float64(received) / res.DurationS
	_, _, p99 := res.Latency.percentiles()
	subsPerCore := 0.0
	if res.ServerCPUS > 0 {
		subsPerCore = float64(held) / (res.ServerCPUS / res.DurationS)
	}
	perSub := 0.0
	if len(subs) > 0 {
		perSub = float64(received) / float64(len(subs))
	}
	res.set("subscribers_held", held)
	res.set("loss_pct", round(lossPct))
	res.set("join_p99_ms", round(p99))
	res.setPercentiles("probe_join", probeLat)
	_, _, c99 := connect.percentiles()
	res.set("connect_p99_ms", round(c99))
	_, _, a99 := phases.answer.percentiles()
	res.set("answer_p99_ms", round(a99))
	_, _, i99 := phases.ice.percentiles()
	res.set("ice_p99_ms", round(i99))
	res.set("subs_per_core", round(subsPerCore))
	res.set("packets_per_subscriber", round(perSub))
	res.set("server_cpu_pct_per_subscriber", round(cpuPerSub(res, held)))
	res.set("keyframe_requests_at_publisher", pub.PLIs.Load())
	return res, nil
}

func cpuPerSub(res *result, held int64) float64 {
	if held == 0 || res.DurationS == 0 {
		return 0
	}
	return 100 * res.ServerCPUS / res.DurationS / float64(held)
}

// joinPhases splits join latency: POST to answer, POST to ICE connected
// (connect_p99_ms adds DTLS, join_p99_ms the first keyframe).
type joinPhases struct{ answer, ice *latencies }

type videoLoad struct {
	c   *common
	api *apiClient
	net liveclient.Network
}

type subCounts struct{ expected, received int64 }

func snapshot(subs []*liveclient.Subscriber) []subCounts {
	out := make([]subCounts, len(subs))
	for i, s := range subs {
		out[i].expected, out[i].received = s.Loss()
	}
	return out
}

// join connects n subscribers at rate per second, round robin over the
// targets, and records each one's time from POST to first keyframe. It
// returns those that joined and the number that failed.
func (vl *videoLoad) join(ctx context.Context, stream int64, n int, rate float64, lat, connect *latencies, phases *joinPhases) ([]*liveclient.Subscriber, int64) {
	var (
		mu     sync.Mutex
		subs   []*liveclient.Subscriber
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				wg.Wait()
				return subs, failed.Load()
			}
		}
		target := vl.c.target(i)
		wg.Go(func() {
			s, err := vl.subscribe(ctx, fmt.Sprintf("%s/api/streams/%d/whep", target, stream))
			if err != nil {
				failed.Add(1)
				return
			}
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			if s.WaitConnected(cctx) == nil {
				connect.add(time.Since(s.Posted))
				phases.answer.add(s.Answered.Sub(s.Posted))
				phases.ice.add(s.ICELatency())
			}
			cancel()
			select {
			case <-s.FirstKeyframe():
				lat.add(s.JoinLatency())
			case <-time.After(15 * time.Second):
				failed.Add(1)
			case <-ctx.Done():
			}
			mu.Lock()
			subs = append(subs, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(subs, func(i, j int) bool { return subs[i].Posted.Before(subs[j].Posted) })
	return subs, failed.Load()
}

// probe joins one viewer, records its POST-to-keyframe time and leaves.
func (vl *videoLoad) probe(ctx context.Context, url string, lat *latencies, errs *atomic.Int64) {
	s, err := vl.subscribe(ctx, url)
	if err != nil {
		errs.Add(1)
		return
	}
	defer func() { _ = s.Stop(context.Background()) }()
	select {
	case <-s.FirstKeyframe():
		lat.add(s.JoinLatency())
	case <-time.After(10 * time.Second):
		errs.Add(1)
	case <-ctx.Done():
	}
}

// subscribe retries while the stream is not live yet (409 with Retry-After).
func (vl *videoLoad) subscribe(ctx context.Context, url string) (*liveclient.Subscriber, error) {
	for attempt := 0; ; attempt++ {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		s, err := liveclient.Subscribe(sctx, url, liveclient.SubscribeOptions{Network: vl.net, Client: vl.api.http})
		cancel()
		var se *liveclient.StatusError
		if err == nil || !errors.As(err, &se) || se.Status != http.StatusConflict || attempt >= 20 {
			return s, err
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// createStream signs up a seller, opens a shop and creates a stream on the
// first target, returning its ID and key.
func (vl *videoLoad) createStream(ctx context.Context) (int64, string, error) {
	token, err := vl.api.signUpAs(ctx, 0, "load", "video")
	if err != nil {
		return 0, "", err
	}
	shopID, err := vl.api.createShop(ctx, 0, token, "video-"+randHex(6), "Video load", "USD")
	if err != nil {
		return 0, "", err
	}
	return vl.api.createStream(ctx, 0, token, shopID, "Video load")
}
