package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/liveshop/liveshop/commerce"
)

// demoAccount is a login printed for newcomers.
type demoAccount struct {
	role, email, password, name string
}

var demoAccounts = []demoAccount{
	{"seller", "seller@demo.liveshop", "orchid-lantern-72", "Mara (Seller)"},
	{"moderator", "mod@demo.liveshop", "quiet-harbor-58", "Theo (Moderator)"},
	{"viewer", "viewer@demo.liveshop", "maple-comet-31", "Vic (Viewer)"},
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
	if err := loadDemoShop(ctx, a, accounts); err != nil {
		return err
	}
	a.log.Info("demo data loaded")
	return nil
}

// demoProduct is a product of the demo shop; its picture is drawn at start.
type demoProduct struct {
	title, description string
	priceMinor, stock  int64
	tags               []string
	draw               func(img *image.RGBA)
}

var demoProducts = []demoProduct{
	{"Speckled Blue Mug", "Wheel-thrown stoneware mug, 350 ml, speckled blue glaze. Dishwasher safe.", 2800, 40,
		[]string{"mugs", "ceramics", "handmade"}, drawMug(color.RGBA{60, 100, 170, 255})},
	{"Rice Bowl Set (4)", "Four stacking rice bowls in celadon, ash and iron glazes.", 6400, 15,
		[]string{"bowls", "ceramics", "kitchen"}, drawBowl(color.RGBA{150, 180, 150, 255})},
	{"Celadon Bud Vase", "A small vase for one stem, pale green celadon over porcelain.", 12000, 5,
		[]string{"vases", "ceramics", "decor"}, drawVase(color.RGBA{170, 200, 180, 255})},
	{"Matcha Bowl", "A wide chawan for whisking matcha, tenmoku glaze.", 4200, 20,
		[]string{"matcha", "bowls", "tea"}, drawBowl(color.RGBA{90, 50, 30, 255})},
}

// loadDemoShop gives the demo seller a shop with products and pictures, the
// demo moderator an appointment there, and the shop a scheduled stream.
// Every step checks what exists first, so restarts (or a start interrupted
// half way) end with the same data.
func loadDemoShop(ctx context.Context, a *app, accounts map[string]commerce.Account) error {
	seller := accounts["seller"]
	shop, err := a.commerce.ShopOf(ctx, seller.ID)
	if errors.Is(err, commerce.ErrNotFound) {
		shop, err = a.commerce.OpenShop(ctx, seller, commerce.OpenShop{Handle: "mara-ceramics", Name: "Mara's Ceramics",
			Description: "Hand-thrown stoneware and porcelain from a small studio. Live kiln openings every week.", Currency: "USD"})
	}
	if err != nil {
		return fmt.Errorf("demo shop: %w", err)
	}
	if shop.Logo == "" {
		if shop, err = a.commerce.SetShopLogo(ctx, seller, shop.ID, bytes.NewReader(demoPNG(drawLogo))); err != nil {
			return fmt.Errorf("demo logo: %w", err)
		}
	}
	existing, _, err := a.commerce.Products(ctx, seller, commerce.ProductFilter{ShopID: shop.ID, Status: "all", PageRequest: commerce.PageRequest{Limit: 100}})
	if err != nil {
		return fmt.Errorf("demo products: %w", err)
	}
	byTitle := map[string]commerce.Product{}
	for _, p := range existing {
		byTitle[p.Title] = p
	}
	var lineup []int64
	for _, d := range demoProducts {
		p, ok := byTitle[d.title]
		if !ok {
			active := commerce.ProductActive
			p, err = a.commerce.CreateProduct(ctx, seller, shop.ID, commerce.ProductPatch{Title: &d.title, Description: &d.description,
				PriceMinor: &d.priceMinor, Stock: &d.stock, Status: &active, Hashtags: &d.tags})
			if err != nil {
				return fmt.Errorf("demo product %q: %w", d.title, err)
			}
		}
		if len(p.Images) == 0 {
			if _, err := a.commerce.AddProductImage(ctx, seller, p.ID, bytes.NewReader(demoPNG(d.draw))); err != nil {
				return fmt.Errorf("demo picture of %q: %w", d.title, err)
			}
		}
		lineup = append(lineup, p.ID)
	}
	if err := demoModerator(ctx, a, seller, accounts["moderator"], shop.ID); err != nil {
		return fmt.Errorf("demo moderator: %w", err)
	}
	streams, _, err := a.commerce.Streams(ctx, commerce.StreamFilter{ShopID: shop.ID, Status: "all"})
	if err != nil {
		return fmt.Errorf("demo streams: %w", err)
	}
	if len(streams) == 0 {
		title := "Live kiln opening: new spring glazes"
		desc := "Unloading the kiln live. Flash deals on the first pieces out."
		at := time.Now().Add(time.Hour).Truncate(time.Minute)
		tags := []string{"ceramics", "handmade", "live"}
		if _, err := a.commerce.CreateStream(ctx, seller, shop.ID, commerce.StreamPatch{Title: &title, Description: &desc,
			ScheduledAt: &at, ProductIDs: &lineup, Hashtags: &tags}); err != nil {
			return fmt.Errorf("demo stream: %w", err)
		}
	}
	return nil
}

// demoModerator appoints the demo moderator the way any moderator is
// appointed: the seller invites its email and it accepts.
func demoModerator(ctx context.Context, a *app, seller, mod commerce.Account, shopID int64) error {
	role, err := a.commerce.ShopRole(ctx, shopID, mod.ID)
	if err != nil || role == commerce.RoleModerator {
		return err
	}
	inv, err := a.commerce.InviteModerator(ctx, seller, shopID, mod.Email)
	if err != nil {
		return err
	}
	_, err = a.commerce.AcceptModeratorInvitation(ctx, mod, inv.ID)
	return err
}

// demoPNG draws a 240×240 product picture.
func demoPNG(draw func(img *image.RGBA)) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 240))
	fill(img, img.Rect, color.RGBA{245, 240, 232, 255})
	draw(img)
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// ellipse fills the ellipse inside r, only where keep says so.
func ellipse(img *image.RGBA, r image.Rectangle, c color.RGBA, keep func(x, y int) bool) {
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	rx, ry := float64(r.Dx())/2, float64(r.Dy())/2
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			if dx*dx+dy*dy <= 1 && (keep == nil || keep(x, y)) {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

func drawMug(c color.RGBA) func(*image.RGBA) {
	return func(img *image.RGBA) {
		ellipse(img, image.Rect(140, 95, 195, 165), c, nil)
		ellipse(img, image.Rect(152, 108, 183, 152), color.RGBA{245, 240, 232, 255}, nil)
		fill(img, image.Rect(60, 70, 160, 190), c)
		ellipse(img, image.Rect(60, 60, 160, 80), color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}, nil)
	}
}

func drawBowl(c color.RGBA) func(*image.RGBA) {
	return func(img *image.RGBA) {
		ellipse(img, image.Rect(40, 40, 200, 200), c, func(_, y int) bool { return y >= 110 })
		ellipse(img, image.Rect(40, 95, 200, 125), color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}, nil)
		fill(img, image.Rect(95, 195, 145, 205), c)
	}
}

func drawVase(c color.RGBA) func(*image.RGBA) {
	return func(img *image.RGBA) {
		ellipse(img, image.Rect(70, 100, 170, 210), c, nil)
		fill(img, image.Rect(105, 40, 135, 120), c)
		ellipse(img, image.Rect(98, 32, 142, 48), color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}, nil)
	}
}

func drawLogo(img *image.RGBA) {
	ellipse(img, image.Rect(20, 20, 220, 220), color.RGBA{180, 90, 60, 255}, nil)
	ellipse(img, image.Rect(70, 70, 170, 170), color.RGBA{245, 240, 232, 255}, nil)
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
