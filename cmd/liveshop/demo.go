package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/liveshop/liveshop/commerce"
)

// demoAccount is a login printed for newcomers.
type demoAccount struct {
	role, email, password, name string
}

var demoAccounts = []demoAccount{
	{"seller", "seller@demo.liveshop", "demo-seller-pass", "Mara (Seller)"},
	{"moderator", "mod@demo.liveshop", "demo-mod-pass", "Theo (Moderator)"},
	{"viewer", "viewer@demo.liveshop", "demo-viewer-pass", "Vic (Viewer)"},
}

// loadDemo creates the demo accounts and their shop once; on later starts it
// finds them and only prints the logins again.
func loadDemo(ctx context.Context, a *app) error {
	accounts := map[string]commerce.Account{}
	for _, d := range demoAccounts {
		acct, _, err := a.commerce.SignUp(ctx, commerce.SignUp{Email: d.email, Password: d.password, Name: d.name}, "demo")
		if errors.Is(err, commerce.ErrEmailTaken) {
			acct, err = a.commerce.AccountByEmail(ctx, d.email)
		}
		if err != nil {
			return fmt.Errorf("demo %s: %w", d.role, err)
		}
		accounts[d.role] = acct
	}
	a.log.Info("demo data loaded")
	return nil
}

// demoBanner lists the demo logins; run prints it to stdout (not the log:
// these are the only passwords Liveshop ever shows, and only the fixed demo
// ones).
func demoBanner(addr string) string {
	s := fmt.Sprintf("\nLiveshop demo is running at http://%s\n\n", addr)
	for _, d := range demoAccounts {
		s += fmt.Sprintf("  %-10s %-24s password: %s\n", d.role, d.email, d.password)
	}
	return s + "\n"
}
