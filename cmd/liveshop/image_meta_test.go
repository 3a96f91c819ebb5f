package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce"
	"github.com/liveshop/liveshop/commerce/imagetest"
)

// uploadPicture uploads data as a picture of product and returns the
// image record and the bytes the server then serves for it.
func uploadPicture(t *testing.T, srv *testServer, seller shopper, productID int64, data []byte) (commerce.Image, []byte) {
	t.Helper()
	var p commerce.Product
	r := seller.upload(fmt.Sprintf("/api/products/%d/images/upload", productID), data)
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	r.decode(t, &p)
	img := p.Images[len(p.Images)-1]
	served := srv.client(t).expect(200, "GET", img.URL, nil).body
	if img.Size != int64(len(served)) {
		t.Fatalf("the record says %d bytes, %d are served", img.Size, len(served))
	}
	return img, served
}

// TestUploadedImagesLoseMetadata: what is uploaded through the API is stored,
// and so served, without its metadata (every format's rules:
// commerce/internal/imagemeta).
func TestUploadedImagesLoseMetadata(t *testing.T) {
	srv := startServer(t, shopConfig(t))
	seller := srv.shopper(t, "seller@example.com", "Sam")
	shopID := seller.openShop("meta-shop", "USD")
	mug := seller.product(shopID, "Blue Mug", 1250, 5)

	t.Run("a product picture is served as stripped, its record saying what is served", func(t *testing.T) {
		sent := imagetest.GeotaggedJPEG(t)
		img, served := uploadPicture(t, srv, seller, mug.ID, sent)
		if l := imagetest.Leaks(served); len(l) > 0 || img.Width != 16 || img.Height != 12 {
			t.Fatalf("served JPEG (%d×%d) still holds %v", img.Width, img.Height, l)
		}
		imagetest.SamePixels(t, sent, served)
	})

	t.Run("shop logos lose theirs too", func(t *testing.T) {
		var shop commerce.Shop
		seller.upload(fmt.Sprintf("/api/shops/%d/logo/upload", shopID), imagetest.GeotaggedJPEG(t)).decode(t, &shop)
		if l := imagetest.Leaks(srv.client(t).expect(200, "GET", shop.LogoURL, nil).body); len(l) > 0 {
			t.Fatalf("served logo still holds %v", l)
		}
	})

	t.Run("a picture whose structure breaks off is refused", func(t *testing.T) {
		sent := imagetest.GeotaggedPNG(t)
		r := seller.upload(fmt.Sprintf("/api/products/%d/images/upload", mug.ID), sent[:60])
		if r.status != 415 {
			t.Fatalf("a PNG cut in its chunks: %d %s, want 415", r.status, r.body)
		}
	})
}
