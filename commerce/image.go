package commerce

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/liveshop/liveshop/commerce/internal/api"
	"github.com/liveshop/liveshop/commerce/internal/imagemeta"
)

// Image is an uploaded picture (product photo, shop logo). Files are stored
// under Config.DataDir/images with random names, never the client's, and are
// immutable: a new picture gets a new name, so it can be cached forever.
// They are stored without their EXIF, XMP and other metadata (GPS position,
// camera, comments), which are stripped without re-encoding.
type Image struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	OwnerID     int64     `json:"-"`
	CreatedAt   time.Time `json:"-"`
}

// Errors about uploads.
var (
	// ErrImageTooLarge means the upload exceeds Config.MaxImageBytes.
	ErrImageTooLarge = api.New(413, "image_too_large", "image is too large")
	// ErrNotAnImage means the bytes are not a JPEG, PNG, WebP or GIF picture.
	ErrNotAnImage = api.New(415, "unsupported_image", "upload a JPEG, PNG, WebP or GIF image")
)

// imageTypes are the accepted types, by what http.DetectContentType sniffs
// (the client's Content-Type is ignored), and the extension files get.
var imageTypes = map[string]string{
	"image/jpeg": ".jpg",
	"image/png":  ".png",
	"image/webp": ".webp",
	"image/gif":  ".gif",
}

// imageNamePattern matches the names UploadImage gives.
var imageNamePattern = regexp.MustCompile(`^[0-9a-f]{32}\.(jpg|png|webp|gif)$`)

// ImageURL is where the image with this name is served.
func ImageURL(name string) string {
	if name == "" {
		return ""
	}
	return "/api/images/" + name
}

// readImage reads and checks an upload: size, sniffed type and, where the
// standard library can decode the header, dimensions; it returns the
// picture without its metadata.
func (s *Service) readImage(r io.Reader) ([]byte, Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, s.cfg.MaxImageBytes+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || int64(len(data)) > s.cfg.MaxImageBytes {
		return nil, Image{}, api.New(413, ErrImageTooLarge.Code, fmt.Sprintf("image is larger than %d bytes", s.cfg.MaxImageBytes))
	}
	if err != nil {
		return nil, Image{}, BadRequest("cannot read upload: %v", err)
	}
	if len(data) == 0 {
		return nil, Image{}, BadRequest("the upload is empty")
	}
	ct := http.DetectContentType(data)
	if _, ok := imageTypes[ct]; !ok {
		return nil, Image{}, ErrNotAnImage
	}
	img := Image{ContentType: ct, Size: int64(len(data))}
	if ct == "image/webp" {
		img.Width, img.Height, err = webpSize(data)
	} else {
		var cfg image.Config
		cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
		img.Width, img.Height = cfg.Width, cfg.Height
	}
	if err != nil || img.Width <= 0 || img.Height <= 0 {
		return nil, Image{}, api.New(415, ErrNotAnImage.Code, "the image is damaged or truncated")
	}
	if img.Width*img.Height > s.cfg.MaxImagePixels {
		return nil, Image{}, api.New(413, ErrImageTooLarge.Code, fmt.Sprintf("image is %d×%d pixels; at most %d pixels in all", img.Width, img.Height, s.cfg.MaxImagePixels))
	}
	// Where and when it was taken, and with what, is nobody's business
	// (commerce/internal/imagemeta).
	if data, err = imagemeta.Strip(ct, data); err != nil {
		return nil, Image{}, api.New(415, ErrNotAnImage.Code, "the image is damaged or truncated")
	}
	img.Size = int64(len(data))
	return data, img, nil
}

// webpSize reads the canvas size from a WebP header (VP8, VP8L or VP8X).
func webpSize(b []byte) (w, h int, err error) {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, errors.New("not webp")
	}
	switch string(b[12:16]) {
	case "VP8 ":
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, errors.New("bad vp8 frame")
		}
		return int(b[26]) | int(b[27]&0x3f)<<8, int(b[28]) | int(b[29]&0x3f)<<8, nil
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, errors.New("bad vp8l signature")
		}
		bits := uint32(b[21]) | uint32(b[22])<<8 | uint32(b[23])<<16 | uint32(b[24])<<24
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	case "VP8X":
		return 1 + (int(b[24]) | int(b[25])<<8 | int(b[26])<<16), 1 + (int(b[27]) | int(b[28])<<8 | int(b[29])<<16), nil
	}
	return 0, 0, errors.New("unknown webp chunk")
}

// storeImage checks an upload, writes it under a fresh random name and
// records it. The caller attaches it to a product or shop; if that fails it
// calls discardImage.
func (s *Service) storeImage(ctx context.Context, owner Account, r io.Reader) (Image, error) {
	data, img, err := s.readImage(r)
	if err != nil {
		return Image{}, err
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return Image{}, err
	}
	img.Name = hex.EncodeToString(raw) + imageTypes[img.ContentType]
	img.URL = ImageURL(img.Name)
	img.OwnerID = owner.ID
	img.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := os.MkdirAll(s.images, 0o750); err != nil {
		return Image{}, fmt.Errorf("image directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.images, ".upload-*")
	if err != nil {
		return Image{}, fmt.Errorf("save image: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil && cerr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(s.images, img.Name))
	}
	if werr != nil || cerr != nil {
		_ = os.Remove(tmp.Name())
		return Image{}, fmt.Errorf("save image: %w", errors.Join(werr, cerr))
	}
	if err := s.store.SaveImage(ctx, img); err != nil {
		s.discardImage(img.Name)
		return Image{}, fmt.Errorf("record image: %w", err)
	}
	return img, nil
}

// discardImage removes an image file that could not be attached.
func (s *Service) discardImage(name string) {
	if err := os.Remove(filepath.Join(s.images, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("remove unused image", "name", name, "error", err)
	}
}

// OpenImage opens an uploaded image for serving, returning its content type.
// Unknown or malformed names are ErrNotFound; nothing outside the image
// directory can be reached.
func (s *Service) OpenImage(name string) (*os.File, string, error) {
	m := imageNamePattern.FindStringSubmatch(name)
	if m == nil {
		return nil, "", ErrNotFound
	}
	f, err := os.Open(filepath.Join(s.images, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	for ct, ext := range imageTypes {
		if ext == "."+m[1] {
			return f, ct, nil
		}
	}
	f.Close()
	return nil, "", ErrNotFound
}
