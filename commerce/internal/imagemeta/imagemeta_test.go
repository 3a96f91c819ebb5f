package imagemeta_test

import (
	"bytes"
	"errors"
	"image/color"
	"slices"
	"testing"

	"github.com/liveshop/liveshop/commerce/imagetest"
	"github.com/liveshop/liveshop/commerce/internal/imagemeta"
)

// TestStrip strips pictures as phones and editors write them, format by
// format: the metadata goes, what shows the picture right stays.
func TestStrip(t *testing.T) {
	strip := func(t *testing.T, ct string, sent []byte) []byte {
		t.Helper()
		served, err := imagemeta.Strip(ct, sent)
		if err != nil {
			t.Fatalf("strip %s: %v", ct, err)
		}
		return served
	}

	t.Run("JPEG: EXIF with GPS, XMP, IPTC, comments and trailing pictures go, orientation and ICC stay, pixels unchanged", func(t *testing.T) {
		sent := imagetest.GeotaggedJPEG(t)
		served := strip(t, "image/jpeg", sent)
		if l := imagetest.Leaks(served); len(l) > 0 {
			t.Fatalf("served JPEG still holds %v", l)
		}
		markers, orientation := imagetest.JPEGSegments(t, served)
		if orientation != 6 || bytes.Count(markers, []byte{0xE1}) != 1 || !slices.Contains(markers, 0xE2) {
			t.Fatalf("markers % X, orientation %d: want one APP1 with orientation 6 alone, and the ICC profile", markers, orientation)
		}
		for _, m := range markers {
			if m == 0xFE || m == 0xED || (m >= 0xE3 && m <= 0xEF) {
				t.Fatalf("marker %X is left: % X", m, markers)
			}
		}
		if !bytes.HasSuffix(served, []byte{0xFF, 0xD9}) {
			t.Fatal("the served JPEG does not end with its EOI")
		}
		imagetest.SamePixels(t, sent, served)
	})

	t.Run("PNG: eXIf with GPS, text chunks and times go, orientation and density stay, pixels unchanged", func(t *testing.T) {
		sent := imagetest.GeotaggedPNG(t)
		served := strip(t, "image/png", sent)
		if l := imagetest.Leaks(served); len(l) > 0 {
			t.Fatalf("served PNG still holds %v", l)
		}
		types, orientation, rest := imagetest.PNGChunks(served)
		if orientation != 3 || rest != 0 || types[0] != "IHDR" || types[len(types)-1] != "IEND" || !slices.Contains(types, "pHYs") {
			t.Fatalf("chunks %v, orientation %d, %d bytes after IEND", types, orientation, rest)
		}
		for _, typ := range []string{"tEXt", "iTXt", "zTXt", "tIME"} {
			if slices.Contains(types, typ) {
				t.Fatalf("chunk %s is left: %v", typ, types)
			}
		}
		imagetest.SamePixels(t, sent, served)
	})

	t.Run("WebP: EXIF and XMP chunks go, their flags are cleared and the RIFF size follows", func(t *testing.T) {
		served := strip(t, "image/webp", imagetest.GeotaggedWebP())
		if l := imagetest.Leaks(served); len(l) > 0 {
			t.Fatalf("served WebP still holds %v", l)
		}
		types, flags, orientation, ok := imagetest.RIFFChunks(served)
		if !ok || !slices.Equal(types, []string{"VP8X", "VP8L", "EXIF"}) || flags != 0x08 || orientation != 3 {
			t.Fatalf("chunks %v, VP8X flags %#x, orientation %d, RIFF size right: %v; want VP8X VP8L EXIF(orientation 3) with only the EXIF flag", types, flags, orientation, ok)
		}
		if !bytes.Contains(served, imagetest.VP8LSolid(16, 12, color.RGBA{200, 60, 20, 255})) {
			t.Fatal("the picture's bitstream changed")
		}
	})

	t.Run("GIF: comments and XMP go, pixels unchanged", func(t *testing.T) {
		sent := imagetest.GeotaggedGIF(t)
		served := strip(t, "image/gif", sent)
		if l := imagetest.Leaks(served); len(l) > 0 {
			t.Fatalf("served GIF still holds %v", l)
		}
		imagetest.SamePixels(t, sent, served)
	})

	t.Run("a picture whose structure breaks off is refused", func(t *testing.T) {
		for ct, sent := range map[string][]byte{"image/png": imagetest.GeotaggedPNG(t)[:60], "image/jpeg": imagetest.GeotaggedJPEG(t)[:40]} {
			if _, err := imagemeta.Strip(ct, sent); !errors.Is(err, imagemeta.ErrDamaged) {
				t.Errorf("%s cut short: %v, want ErrDamaged", ct, err)
			}
		}
	})
}
