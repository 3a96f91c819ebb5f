package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/static"
)

var _ static.PreviewSource = pagePreviews{}

// pagePreviews adapts the commerce service to static.PreviewSource: the
// link-preview tags of product and watch pages. Only what anyone may see
// is shown: active products (not drafts or archived ones) and streams.
type pagePreviews struct {
	svc *commerce.Service
	log *slog.Logger
}

// previewDescriptionRunes caps a preview's description; chat apps show
// a line or two.
const previewDescriptionRunes = 200

func (p pagePreviews) Preview(ctx context.Context, kind string, id int64) (static.Preview, bool) {
	var (
		pv     static.Preview
		shopID int64
		parts  []string
	)
	switch kind {
	case static.PreviewProduct:
		prod, err := p.svc.Product(ctx, commerce.Account{}, id)
		if err != nil || prod.Status != commerce.ProductActive {
			return static.Preview{}, p.failed(kind, id, err)
		}
		pv = static.Preview{Title: prod.Title, Image: prod.ImageURL()}
		shopID = prod.ShopID
		parts = []string{commerce.FormatMoney(prod.PriceMinor, prod.Currency), "", prod.Description}
	case static.PreviewStream:
		st, err := p.svc.Stream(ctx, id)
		if err != nil {
			return static.Preview{}, p.failed(kind, id, err)
		}
		pv = static.Preview{Title: st.Title}
		shopID = st.ShopID
		parts = []string{streamState[st.Status], "", st.Description}
	default:
		return static.Preview{}, false
	}
	shop, err := p.svc.Shop(ctx, shopID)
	if err != nil {
		return static.Preview{}, p.failed("shop", shopID, err)
	}
	parts[1] = shop.Name
	if pv.Image == "" {
		pv.Image = shop.LogoURL
	}
	pv.Description = previewLine(parts)
	return pv, true
}

// streamState words a stream's status for its preview.
var streamState = map[string]string{
	commerce.StreamLive:      "Live now",
	commerce.StreamScheduled: "Coming up live",
	commerce.StreamEnded:     "Replay of a live show",
}

// failed logs lookup failures other than not-found (the page still
// renders, with generic tags) and reports no preview.
func (p pagePreviews) failed(kind string, id int64, err error) bool {
	if err != nil && !errors.Is(err, commerce.ErrNotFound) {
		p.log.Warn("link preview lookup failed", slog.String("kind", kind), slog.Int64("id", id), slog.Any("error", err))
	}
	return false
}

// previewLine joins the non-empty parts with " · " on one line, cut to
// previewDescriptionRunes.
func previewLine(parts []string) string {
	kept := parts[:0:0]
	for _, s := range parts {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			kept = append(kept, s)
		}
	}
	line := []rune(strings.Join(kept, " · "))
	if len(line) > previewDescriptionRunes {
		return strings.TrimSpace(string(line[:previewDescriptionRunes-1])) + "…"
	}
	return string(line)
}
