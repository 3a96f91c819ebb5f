package main

import (
	"testing"
	"time"

	"github.com/liveshop/liveshop/commerce/sqlstore/sqltest"
	"github.com/liveshop/liveshop/room/redistest"
)

// TestLogoutTakesEffectOnEveryNode: two nodes share PostgreSQL and Redis
// and each trusts a session it looked up for a minute. A logout, a logout
// everywhere and a rename on one node reach the other's cache within two
// seconds (the Redis pub/sub delivery), not when its entry runs out.
func TestLogoutTakesEffectOnEveryNode(t *testing.T) {
	cfg := shopConfig(t)
	cfg.DB = sqltest.PostgresURL(t)
	cfg.Redis, cfg.RedisPrefix = redistest.URL(t), uniqueName("test:")+":"
	cfg.Commerce.SessionCacheTTL = time.Minute
	a := startNode(t, cfg)
	cfgB := cfg
	cfgB.DataDir = t.TempDir()
	b := startNode(t, cfgB)
	const delivery = 2 * time.Second // far below the cache's minute

	a.srv.client(t).signUp("lou@example.com", "Lou")
	on := func(n *testNode, token string) *client {
		c := n.srv.client(t)
		c.token = token
		return c
	}
	// signIn opens a session on node A and has node B cache it.
	signIn := func(t *testing.T) string {
		var out struct {
			Token string `json:"token"`
		}
		a.srv.client(t).expect(200, "POST", "/api/auth/login",
			map[string]string{"email": "lou@example.com", "password": "correct horse battery"}).decode(t, &out)
		on(b, out.Token).expect(200, "GET", "/api/me", nil)
		return out.Token
	}
	refusedOnB := func(t *testing.T, what, token string) {
		t.Helper()
		eventually(t, what+" refused on node B", delivery, func() bool {
			return on(b, token).do("GET", "/api/me", nil).status == 401
		})
	}

	t.Run("a logout on one node is refused on the other at once", func(t *testing.T) {
		gone, kept := signIn(t), signIn(t)
		on(a, gone).expect(204, "POST", "/api/auth/logout", nil)
		refusedOnB(t, "the logged-out session", gone)
		on(b, kept).expect(200, "GET", "/api/me", nil)
	})

	t.Run("a logout everywhere on one node is refused on the other at once", func(t *testing.T) {
		first, second := signIn(t), signIn(t)
		on(a, first).expect(204, "POST", "/api/auth/logout-all", nil)
		refusedOnB(t, "the session that logged out everywhere", first)
		refusedOnB(t, "another session of the account", second)
	})

	t.Run("a rename on one node shows on the other at once", func(t *testing.T) {
		token := signIn(t)
		on(a, token).expect(200, "PATCH", "/api/me", map[string]string{"name": "Louise"})
		eventually(t, "the new name on node B", delivery, func() bool {
			var me struct {
				Name string `json:"name"`
			}
			on(b, token).expect(200, "GET", "/api/me", nil).decode(t, &me)
			return me.Name == "Louise"
		})
	})
}

// TestLogoutDuringRedisOutage: with Redis unreachable a logout still ends
// the session on the node that served it, promptly; other nodes then catch
// up within the session cache TTL.
func TestLogoutDuringRedisOutage(t *testing.T) {
	cfg, proxy := redisThroughProxy(t)
	cfg.Commerce.SessionCacheTTL = time.Minute
	srv := startServer(t, cfg)
	c := srv.client(t)
	c.signUp("ola@example.com", "Ola")
	c.expect(200, "GET", "/api/me", nil)

	proxy.cut()
	started := time.Now()
	c.expect(204, "POST", "/api/auth/logout", nil)
	if took := time.Since(started); took > 3*time.Second {
		t.Errorf("the logout took %v while Redis was down", took)
	}
	c.expect(401, "GET", "/api/me", nil)
}
