package room_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/liveshop/liveshop/room"
)

// from is the header of a client at ip (the test servers read X-Real-IP
// as Echo does without a configured extractor).
func from(ip string) http.Header { return http.Header{"X-Real-Ip": {ip}} }

// refusedJoin dials and expects the handshake refused with status and
// code, and a Retry-After of at least one second.
func refusedJoin(t *testing.T, n *node, who string, hdr http.Header, status int, code string) {
	t.Helper()
	_, resp, err := n.tryDial(t, streamID, who, -1, hdr)
	if err == nil || resp == nil {
		t.Fatalf("join as %q from %v was accepted (%v), want %d %s", who, hdr, err, status, code)
	}
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if secs, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != status || e.Error.Code != code || secs < 1 {
		t.Fatalf("join as %q: %d %s (Retry-After %q), want %d %s", who, resp.StatusCode, body, resp.Header.Get("Retry-After"), status, code)
	}
}

func TestPerIPLimits(t *testing.T) {
	for name, shared := range map[string]func(*testing.T) *shared{"memory": memoryShared, "redis": redisShared} {
		t.Run(name, func(t *testing.T) {
			t.Run("one address with many accounts cannot flood a room, on every node together", func(t *testing.T) {
				s := shared(t)
				cfg := func(c *room.Config) { c.CommentIPLimit, c.CommentWindow = 3, time.Minute }
				a, b := startNode(t, s, cfg), startNode(t, s, cfg)
				const flood = "198.51.100.7"
				posters := []*client{
					a.dialWith(t, viewer, from(flood)), b.dialWith(t, viewer2, from(flood)),
					a.dialWith(t, user(5, "Sock Puppet"), from(flood)), b.dialWith(t, user(6, "Sock Puppet 2"), from(flood)),
				}
				for i, p := range posters[:3] {
					p.next("snapshot")
					p.comment(fmt.Sprint("ok", i), "hello")
				}
				last := posters[3]
				last.next("snapshot")
				last.send(map[string]any{"type": "comment", "id": "over", "cid": "over", "text": "spam"})
				if e := last.refusal("over"); e.Code != "rate_limited" || e.RetryAfter < 1 {
					t.Fatalf("fourth comment from %s: %+v, want rate_limited with retry_after", flood, e)
				}
				last.send(map[string]any{"type": "ping", "id": "still"})
				last.next("pong") // the connection stays
				other := b.dialWith(t, user(7, "Neighbour"), from("198.51.100.8"))
				other.next("snapshot")
				other.comment("elsewhere", "another address is not limited")
				moderator := a.dialWith(t, mod, from(flood))
				moderator.next("snapshot")
				moderator.comment("mod", "moderators are exempt")
			})

			t.Run("joins per account and per address are limited on every node together", func(t *testing.T) {
				s := shared(t)
				cfg := func(c *room.Config) { c.JoinLimitAccount, c.JoinLimitIP, c.JoinWindow = 3, 5, time.Minute }
				nodes := []*node{startNode(t, s, cfg), startNode(t, s, cfg)}
				for i := range 3 {
					c := nodes[i%2].dialWith(t, viewer, from(fmt.Sprintf("203.0.113.%d", i+1)))
					c.next("snapshot")
					c.ws.CloseNow()
				}
				refusedJoin(t, nodes[1], viewer, from("203.0.113.9"), http.StatusTooManyRequests, "rate_limited")
				for i := range 5 {
					c := nodes[i%2].dialWith(t, "", from("192.0.2.1"))
					c.next("snapshot")
					c.ws.CloseNow()
				}
				refusedJoin(t, nodes[0], "", from("192.0.2.1"), http.StatusTooManyRequests, "rate_limited")
				refusedJoin(t, nodes[1], viewer2, from("192.0.2.1"), http.StatusTooManyRequests, "rate_limited")
				nodes[1].dialWith(t, viewer2, from("192.0.2.2")).next("snapshot")
			})
		})
	}

	t.Run("open room sockets per account and per address are capped on a node", func(t *testing.T) {
		n := startNode(t, memoryShared(t), func(c *room.Config) { c.SocketsPerAccount, c.SocketsPerIP = 2, 3 })
		first := n.dialWith(t, viewer, from("198.51.100.1"))
		first.next("snapshot")
		n.dialWith(t, viewer, from("198.51.100.2")).next("snapshot")
		refusedJoin(t, n, viewer, from("198.51.100.3"), http.StatusTooManyRequests, "too_many_sockets")
		first.ws.CloseNow()
		eventually(t, "a closed socket frees its place", func() bool {
			c, _, err := n.tryDial(t, streamID, viewer, -1, from("198.51.100.3"))
			if err == nil {
				c.ws.CloseNow()
			}
			return err == nil
		})

		for range 3 {
			n.dialWith(t, "", from("192.0.2.50")).next("snapshot")
		}
		refusedJoin(t, n, "", from("192.0.2.50"), http.StatusTooManyRequests, "too_many_sockets")
		refusedJoin(t, n, viewer2, from("192.0.2.50"), http.StatusTooManyRequests, "too_many_sockets")
		n.dialWith(t, "", from("192.0.2.51")).next("snapshot")
	})
}

// dialWith opens a room connection to streamID as who with extra headers.
func (n *node) dialWith(t *testing.T, who string, hdr http.Header) *client {
	t.Helper()
	c, resp, err := n.tryDial(t, streamID, who, -1, hdr)
	if err != nil {
		t.Fatalf("dial room as %q: %v (%v)", who, err, resp)
	}
	return c
}
