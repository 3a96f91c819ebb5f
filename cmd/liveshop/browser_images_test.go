package main

import (
	"fmt"
	"testing"

	"github.com/liveshop/liveshop/commerce/imagetest"
)

// TestBrowserStrippedImages shows uploaded pictures, stripped of their
// metadata, in Chromium: every format still decodes at its size, and the
// JPEG's kept orientation (a quarter turn) still turns it upright.
func TestBrowserStrippedImages(t *testing.T) {
	requireBrowser(t)
	srv := startServer(t, shopConfig(t))
	seller := srv.shopper(t, "seller@example.com", "Sam")
	mug := seller.product(seller.openShop("meta-shop", "USD"), "Blue Mug", 1250, 5)
	b := newBrowser(t, srv.URL)
	viewer := b.user("viewer", desktop)
	viewer.open("/")
	for _, tc := range []struct {
		name string
		data []byte
		want [2]int
	}{
		{"JPEG turned a quarter by its EXIF orientation", imagetest.GeotaggedJPEG(t), [2]int{12, 16}},
		{"PNG", imagetest.GeotaggedPNG(t), [2]int{16, 12}},
		{"WebP", imagetest.GeotaggedWebP(), [2]int{16, 12}},
		{"GIF", imagetest.GeotaggedGIF(t), [2]int{16, 12}},
	} {
		img, _ := uploadPicture(t, srv, seller, mug.ID, tc.data)
		got := evalJS[[]int](viewer, fmt.Sprintf(`(async () => {
			const img = new Image();
			img.src = %s;
			await img.decode();
			return [img.naturalWidth, img.naturalHeight];
		})()`, jsString(img.URL)))
		if len(got) != 2 || got[0] != tc.want[0] || got[1] != tc.want[1] {
			t.Errorf("%s: Chromium shows %v, want %v", tc.name, got, tc.want)
		}
	}
}
