// Package imagetest makes pictures as phones and editors write them (pixels
// plus where, when and with what they were taken) and reads back what a
// stripped copy kept, for the tests of picture uploads
// (commerce/internal/imagemeta, cmd/liveshop).
package imagetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"testing"
)

// Pictures as phones and editors write them: pixels plus where, when and
// with what they were taken. gpsMarker is the numerator of the GPS
// latitude's seconds, a byte pattern found nowhere else in the files.
const (
	gpsMarker  = 0x0BADC0DE
	cameraMake = "TestCam Secret"
	secretText = "shot at 12 Home Street"
)

// exifTIFF is a little-endian EXIF structure: IFD0 with the camera's make,
// an orientation and a pointer to a GPS IFD holding a latitude.
func exifTIFF(orientation uint16) []byte {
	le := binary.LittleEndian
	entry := func(b []byte, tag, typ uint16, count, value uint32) []byte {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		return le.AppendUint32(b, value)
	}
	const makeAt, gpsAt, latAt = 50, 66, 96
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = le.AppendUint16(b, 3)
	b = entry(b, 0x010F, 2, uint32(len(cameraMake)+1), makeAt)
	b = entry(b, 0x0112, 3, 1, uint32(orientation))
	b = entry(b, 0x8825, 4, 1, gpsAt)
	b = le.AppendUint32(b, 0)
	b = append(b, cameraMake+"\x00\x00"...) // padded to gpsAt
	b = le.AppendUint16(b, 2)
	b = entry(b, 0x0001, 2, 2, uint32('N'))
	b = entry(b, 0x0002, 5, 3, latAt)
	b = le.AppendUint32(b, 0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {gpsMarker, 1000000}} {
		b = le.AppendUint32(b, r[0])
		b = le.AppendUint32(b, r[1])
	}
	return b
}

// xmp is an XMP packet with a position in it.
const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
	`<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N"/></rdf:RDF></x:xmpmeta>`

// testPicture is a 16×12 gradient.
func testPicture() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for x := range 16 {
		for y := range 12 {
			img.Set(x, y, color.RGBA{uint8(x * 15), uint8(y * 20), 120, 255})
		}
	}
	return img
}

func jpegSegment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	return append(b, payload...)
}

// GeotaggedJPEG is a JPEG with EXIF (orientation 6: turn a quarter right),
// XMP, IPTC, a comment and an ICC profile, and a second picture's bytes
// after its end, as multi-picture files have.
func GeotaggedJPEG(t testing.TB) []byte {
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, testPicture(), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	b := slices.Clone(enc.Bytes()[:2])
	b = append(b, jpegSegment(0xE1, append([]byte("Exif\x00\x00"), exifTIFF(6)...))...)
	b = append(b, jpegSegment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00"+xmp))...)
	b = append(b, jpegSegment(0xED, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10"+secretText))...)
	b = append(b, jpegSegment(0xFE, []byte(secretText))...)
	b = append(b, jpegSegment(0xE2, []byte("ICC_PROFILE\x00\x01\x01not a real profile"))...)
	b = append(b, enc.Bytes()[2:]...)
	return append(b, "\xFF\xD8\xFF\xE1 second picture: "+secretText+"\xFF\xD9"...)
}

func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// GeotaggedPNG is a PNG with eXIf (orientation 3: upside down), text,
// international text (XMP), compressed text and a time, and bytes after
// its end.
func GeotaggedPNG(t testing.TB) []byte {
	var enc bytes.Buffer
	if err := png.Encode(&enc, testPicture()); err != nil {
		t.Fatal(err)
	}
	const afterIHDR = 8 + 25
	b := slices.Clone(enc.Bytes()[:afterIHDR])
	b = append(b, pngChunk("eXIf", exifTIFF(3))...)
	b = append(b, pngChunk("tEXt", []byte("Comment\x00"+secretText))...)
	b = append(b, pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+xmp))...)
	b = append(b, pngChunk("zTXt", []byte("Author\x00\x00x\x9c\x03\x00\x00\x00\x00\x01"))...)
	b = append(b, pngChunk("tIME", []byte{0x07, 0xEA, 12, 7, 18, 0, 0})...)
	b = append(b, pngChunk("pHYs", []byte{0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1})...)
	b = append(b, enc.Bytes()[afterIHDR:]...)
	return append(b, secretText...)
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	b    []byte
	used uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if w.used%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (w.used % 8)
		w.used++
	}
}

// VP8LSolid is a lossless WebP bitstream of a w×h picture of one colour:
// no transforms, no colour cache, and one symbol in each prefix code, so
// every pixel takes no bits.
func VP8LSolid(w, h int, c color.RGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha not used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of eight bits
		bw.write(uint32(sym), 8)
	}
	bw.write(1, 1) // distance: simple code, one symbol, of one bit: 0
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	return bw.b
}

func riffChunk(typ string, data []byte) []byte {
	b := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// GeotaggedWebP is an extended WebP (VP8X) of 16×12 with EXIF (orientation
// 3) and XMP chunks, flagged in VP8X.
func GeotaggedWebP() []byte {
	vp8x := []byte{0x08 | 0x04, 0, 0, 0}
	vp8x = append(vp8x, 15, 0, 0, 11, 0, 0) // canvas 16×12, minus one
	body := []byte("WEBP")
	body = append(body, riffChunk("VP8X", vp8x)...)
	body = append(body, riffChunk("VP8L", VP8LSolid(16, 12, color.RGBA{200, 60, 20, 255}))...)
	body = append(body, riffChunk("EXIF", exifTIFF(3))...)
	body = append(body, riffChunk("XMP ", []byte(xmp))...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// GeotaggedGIF is a GIF with a comment and an XMP application extension.
func GeotaggedGIF(t testing.TB) []byte {
	pic := image.NewPaletted(image.Rect(0, 0, 16, 12), color.Palette{color.Black, color.White, color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}})
	for x := range 16 {
		for y := range 12 {
			pic.SetColorIndex(x, y, uint8((x+y)%4))
		}
	}
	var enc bytes.Buffer
	if err := gif.Encode(&enc, pic, nil); err != nil {
		t.Fatal(err)
	}
	e := enc.Bytes()
	header := 13 + 3<<(e[10]&7+1)
	b := slices.Clone(e[:header])
	b = append(b, 0x21, 0xFE, byte(len(secretText)))
	b = append(b, secretText...)
	b = append(b, 0)
	b = append(b, 0x21, 0xFF, 11)
	b = append(b, "XMP DataXMP"...)
	b = append(b, byte(len(xmp)/2))
	b = append(b, xmp[:len(xmp)/2]...)
	b = append(b, 0)
	b = append(b, e[header:]...)
	return b
}

// Leaks lists the metadata of the test files found in served bytes.
func Leaks(b []byte) []string {
	var out []string
	for _, s := range []string{cameraMake, secretText, "xmpmeta", "GPSLatitude", "Photoshop", "XMP DataXMP", "second picture",
		string(binary.LittleEndian.AppendUint32(nil, gpsMarker))} {
		if bytes.Contains(b, []byte(s)) {
			out = append(out, fmt.Sprintf("%q", s))
		}
	}
	return out
}

// orientationOnly reports the orientation of an EXIF structure that holds
// that one tag and nothing else (0 when it holds more or cannot be read).
func orientationOnly(tiff []byte) uint16 {
	if len(tiff) < 8 || string(tiff[:4]) != "MM\x00\x2a" {
		return 0
	}
	be := binary.BigEndian
	ifd := int(be.Uint32(tiff[4:]))
	if ifd+18 > len(tiff) || be.Uint16(tiff[ifd:]) != 1 || be.Uint16(tiff[ifd+2:]) != 0x0112 || be.Uint32(tiff[ifd+14:]) != 0 {
		return 0
	}
	return be.Uint16(tiff[ifd+10:])
}

// JPEGSegments lists the markers before the first scan and, for APP1, its
// orientation.
func JPEGSegments(t testing.TB, b []byte) (markers []byte, orientation uint16) {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		markers = append(markers, m)
		if m == 0xE1 {
			payload, ok := bytes.CutPrefix(b[i+4:i+2+n], []byte("Exif\x00\x00"))
			if !ok {
				t.Fatalf("an APP1 that is not EXIF is left: %q", b[i+4:min(i+40, i+2+n)])
			}
			orientation = orientationOnly(payload)
		}
		if m == 0xDA {
			break
		}
		i += 2 + n
	}
	return markers, orientation
}

// PNGChunks lists a PNG's chunk types, with the orientation of its eXIf.
func PNGChunks(b []byte) (types []string, orientation uint16, rest int) {
	i := 8
	for i+12 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		types = append(types, typ)
		if typ == "eXIf" {
			orientation = orientationOnly(b[i+8 : i+8+n])
		}
		i += 12 + n
		if typ == "IEND" {
			break
		}
	}
	return types, orientation, len(b) - i
}

// RIFFChunks lists a WebP's chunk types with the VP8X flags and the
// orientation of its EXIF; ok is false when the RIFF size is not the
// file's.
func RIFFChunks(b []byte) (types []string, flags byte, orientation uint16, ok bool) {
	ok = len(b) >= 12 && int(binary.LittleEndian.Uint32(b[4:]))+8 == len(b)
	for i := 12; i+8 <= len(b); {
		typ, n := string(b[i:i+4]), int(binary.LittleEndian.Uint32(b[i+4:]))
		types = append(types, typ)
		switch typ {
		case "VP8X":
			flags = b[i+8]
		case "EXIF":
			orientation = orientationOnly(b[i+8 : i+8+n])
		}
		i += 8 + n + n%2
	}
	return types, flags, orientation, ok
}

// SamePixels fails unless served decodes to the picture sent decoded to.
func SamePixels(t testing.TB, sent, served []byte) {
	t.Helper()
	want, _, err := image.Decode(bytes.NewReader(sent))
	if err != nil {
		t.Fatalf("decode the upload: %v", err)
	}
	got, _, err := image.Decode(bytes.NewReader(served))
	if err != nil {
		t.Fatalf("the served picture does not decode: %v", err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("served %v, uploaded %v", got.Bounds(), want.Bounds())
	}
	for x := range want.Bounds().Dx() {
		for y := range want.Bounds().Dy() {
			if got.At(x, y) != want.At(x, y) {
				t.Fatalf("pixel (%d,%d) changed: %v, was %v", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}
