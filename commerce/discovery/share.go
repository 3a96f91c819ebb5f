package discovery

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/liveshop/liveshop/commerce"
)

// Share links are short paths on the server's own origin: /s/p<id> opens
// a product page (/product/<id>) and /s/w<id> a stream's watch page
// (/watch/<id>), IDs in base 36. Making one records a "share" by the
// caller; opening one records a "share_open" and redirects, so sellers see
// which products travel. A link that names nothing opens the home page.

// ShareRequest asks for a share link.
type ShareRequest struct {
	// Type is "product" or "stream".
	Type string `json:"type"`
	ID   int64  `json:"id"`
	// Channel says where it is shared (copy, whatsapp, ...), for analytics.
	Channel string `json:"channel"`
}

// ShareLink is a link to share.
type ShareLink struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
	// Path is the share link on this server; URL the same, absolute on
	// Config.PublicURL.
	Path string `json:"path"`
	URL  string `json:"url"`
	// Target is the page it opens.
	Target string `json:"target"`
	Title  string `json:"title"`
}

const (
	shareProduct = 'p'
	shareStream  = 'w'
)

// ProductPath is the page of a product.
func ProductPath(id int64) string { return "/product/" + strconv.FormatInt(id, 10) }

// cleanChannel keeps a share channel name short and plain.
func cleanChannel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			return r
		}
		return -1
	}, s)
	return "share:" + s[:min(len(s), 20)]
}

// Share makes a share link for a product (active or archived, or a draft
// the caller may see) or a stream, and records the share. Each account and
// each client address ip makes at most Config.ShareLimitAccount
// and ShareLimitIP links a minute: each one is an interaction in the
// seller's analytics.
func (d *Service) Share(ctx context.Context, a commerce.Account, req ShareRequest, ip string) (ShareLink, error) {
	if req.ID <= 0 {
		return ShareLink{}, commerce.Invalid("id must be a positive number")
	}
	if err := d.svc.LimitCaller(ctx, "share", a, ip, d.cfg.ShareLimitAccount, d.cfg.ShareLimitIP); err != nil {
		return ShareLink{}, err
	}
	link := ShareLink{Type: req.Type, ID: req.ID}
	ev := Interaction{Kind: InteractionShare, AccountID: a.ID, Source: cleanChannel(req.Channel)}
	var letter byte
	switch req.Type {
	case "product":
		p, err := d.svc.Product(ctx, a, req.ID)
		if err != nil {
			return ShareLink{}, err
		}
		letter, link.Target, link.Title = shareProduct, ProductPath(p.ID), p.Title
		ev.ProductID = p.ID
	case "stream":
		st, err := d.svc.Stream(ctx, req.ID)
		if err != nil {
			return ShareLink{}, err
		}
		letter, link.Target, link.Title = shareStream, WatchPath(st.ID), st.Title
		ev.StreamID = st.ID
	default:
		return ShareLink{}, commerce.Invalid(`type must be "product" or "stream"`)
	}
	link.Path = "/s/" + string(letter) + strconv.FormatInt(req.ID, 36)
	link.URL = d.svc.Config().PublicURL + link.Path
	d.Record(ev)
	return link, nil
}

// OpenShare resolves a share link's code to the page it opens, recording
// the visit; a code that names nothing opens the home page.
func (d *Service) OpenShare(ctx context.Context, a commerce.Account, code string) (string, error) {
	if len(code) < 2 || len(code) > 14 {
		return "/", nil
	}
	id, err := strconv.ParseInt(code[1:], 36, 64)
	if err != nil || id <= 0 {
		return "/", nil
	}
	ev := Interaction{Kind: InteractionShareOpen, AccountID: a.ID, Source: "share"}
	var target string
	switch code[0] {
	case shareProduct:
		_, err = d.svc.Product(ctx, a, id)
		ev.ProductID, target = id, ProductPath(id)
	case shareStream:
		_, err = d.svc.Stream(ctx, id)
		ev.StreamID, target = id, WatchPath(id)
	default:
		return "/", nil
	}
	if errors.Is(err, commerce.ErrNotFound) {
		return "/", nil
	}
	if err != nil {
		return "", err
	}
	d.Record(ev)
	return target, nil
}
