package live_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/liveshop/liveshop/live"
	"github.com/liveshop/liveshop/live/liveclient"
)

func readOffer(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/offers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var rtpmapRE = regexp.MustCompile(`a=rtpmap:(\d+) ([^/\r\n]+)`)

// codecsIn lists "PT name" per m-section kind of an SDP.
func codecsIn(sdp string) map[string][]string {
	out := map[string][]string{}
	kind := ""
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "m=") {
			kind = strings.Fields(l[2:])[0]
		}
		if m := rtpmapRE.FindStringSubmatch(l); m != nil {
			out[kind] = append(out[kind], m[1]+" "+m[2])
		}
	}
	return out
}

func TestAnswersNameExactlyTheForwardedCodec(t *testing.T) {
	n := startNode(t, nodeOptions{})
	post := func(t *testing.T, url, key, offer string) (int, string, http.Header) {
		t.Helper()
		a := do(t, testClient, call{"POST", url, "application/sdp", key, "", offer})
		return a.status, a.body, a.header
	}

	t.Run("a browser's WHIP offer gets VP8 and Opus, in its payload types", func(t *testing.T) {
		status, answer, hdr := post(t, n.whip(1), "key-1", readOffer(t, "browser_whip.sdp"))
		if status != 201 {
			t.Fatalf("status %d: %s", status, answer)
		}
		got := codecsIn(answer)
		if !slices.Equal(got["video"], []string{"96 VP8", "97 rtx"}) || !slices.Equal(got["audio"], []string{"111 opus"}) {
			t.Fatalf("answer codecs %v", got)
		}
		if hdr.Get("Content-Type") != "application/sdp" || !strings.HasPrefix(hdr.Get("Location"), "/api/streams/1/whip/") || hdr.Get("ETag") == "" {
			t.Fatalf("headers %v", hdr)
		}
		if !strings.Contains(answer, "a=candidate:") || !strings.Contains(answer, "a=recvonly") {
			t.Fatalf("answer without candidates or direction:\n%s", answer)
		}
	})

	t.Run("OBS's H.264 offer gets H.264", func(t *testing.T) {
		status, answer, _ := post(t, n.whip(2), "key-2", readOffer(t, "obs_whip.sdp"))
		if status != 201 {
			t.Fatalf("status %d: %s", status, answer)
		}
		if got := codecsIn(answer); !slices.Equal(got["video"], []string{"96 H264"}) {
			t.Fatalf("answer codecs %v", got)
		}
	})

	t.Run("a viewer's offer is answered with only the stream's codec", func(t *testing.T) {
		publish(t, n, 3, "key-3", liveclient.PublishOptions{Video: liveclient.H264})
		status, answer, _ := post(t, n.whep(3), "", readOffer(t, "whep_recvonly.sdp"))
		if status != 201 {
			t.Fatalf("status %d: %s", status, answer)
		}
		got := codecsIn(answer)
		if !slices.Equal(got["video"], []string{"102 H264", "103 rtx"}) || !slices.Equal(got["audio"], []string{"111 opus"}) {
			t.Fatalf("answer codecs %v", got)
		}
		if !strings.Contains(answer, "a=sendonly") {
			t.Fatalf("answer does not send:\n%s", answer)
		}
	})
}

func TestICEServersAreAdvertisedInLinkHeaders(t *testing.T) {
	n := startNode(t, nodeOptions{cfg: live.Config{ICEServers: []live.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net:3478?transport=udp"}, Username: "user", Credential: "secret"},
	}}})
	a := do(t, testClient, call{"POST", n.whip(1), "application/sdp", "key-1", "", readOffer(t, "browser_whip.sdp")})
	if a.status != 201 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	links := a.header.Values("Link")
	want := []string{
		`<stun:stun.example.net:3478>; rel="ice-server"`,
		`<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="user"; credential="secret"; credential-type="password"`,
	}
	if !slices.Equal(links, want) {
		t.Fatalf("Link headers:\n%s", strings.Join(links, "\n"))
	}
}
