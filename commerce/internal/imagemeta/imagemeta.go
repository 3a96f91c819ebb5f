// Package imagemeta strips metadata from uploaded pictures before they are
// stored, and so before anyone can fetch them: a phone photo's EXIF names where it was
// taken (GPS), when, and with which device, and XMP, IPTC, comments and
// thumbnails can carry the same or an uncropped copy of the picture. The
// files are rewritten segment by segment, never re-encoded, so the pixels
// stay exactly as uploaded. What a viewer needs to see the picture right
// is kept: JPEG's JFIF header (without its thumbnail), ICC colour profile
// and Adobe colour-transform marker; PNG's colour, transparency, density
// and animation chunks; WebP's image, alpha, animation and ICC chunks;
// GIF's frames, timing and looping. The EXIF orientation (how to turn a
// phone photo upright) survives as a new EXIF block holding that tag alone.
package imagemeta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// ErrDamaged means an upload's structure could not be walked.
var ErrDamaged = errors.New("damaged image")

// Strip returns the image in data (of content type ct, as sniffed)
// without its metadata.
func Strip(ct string, data []byte) ([]byte, error) {
	switch ct {
	case "image/jpeg":
		return stripJPEG(data)
	case "image/png":
		return stripPNG(data)
	case "image/webp":
		return stripWebP(data)
	case "image/gif":
		return stripGIF(data)
	}
	return nil, ErrDamaged
}

// JPEG markers.
const (
	jpegSOI  = 0xD8
	jpegEOI  = 0xD9
	jpegSOS  = 0xDA
	jpegAPP0 = 0xE0
	jpegAPP1 = 0xE1
	jpegAPP2 = 0xE2
	jpegAPPE = 0xEE // Adobe: how to read the colour components
	jpegCOM  = 0xFE
)

// stripJPEG keeps every segment the decoder needs and drops APPn segments
// (EXIF, XMP, IPTC, MPF with its appended pictures...) and comments, but
// for JFIF without its thumbnail, ICC profiles and Adobe's marker. Bytes
// after the end of the image are dropped too.
func stripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != jpegSOI {
		return nil, ErrDamaged
	}
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, jpegSOI)
	orientation := uint16(0)
	i := 2
	for i < len(b) {
		if b[i] != 0xFF {
			return nil, ErrDamaged
		}
		for i < len(b) && b[i] == 0xFF { // fill bytes
			i++
		}
		if i >= len(b) {
			break
		}
		m := b[i]
		i++
		switch {
		case m == jpegEOI:
			return append(out, 0xFF, jpegEOI), nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // TEM, RSTn: no length
			out = append(out, 0xFF, m)
			continue
		}
		if i+2 > len(b) {
			return nil, ErrDamaged
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return nil, ErrDamaged
		}
		payload := b[i+2 : i+n]
		seg := b[i-2 : i+n]
		i += n
		switch {
		case m == jpegAPP0:
			if bytes.HasPrefix(payload, []byte("JFIF\x00")) && len(payload) >= 14 {
				// The JFIF header, with no thumbnail.
				out = append(out, 0xFF, jpegAPP0, 0, 16)
				out = append(out, payload[:12]...)
				out = append(out, 0, 0)
			}
		case m == jpegAPP1:
			if tiff, ok := bytes.CutPrefix(payload, []byte("Exif\x00\x00")); ok && orientation == 0 {
				if orientation = exifOrientation(tiff); orientation > 1 {
					out = appendJPEGSegment(out, jpegAPP1, append([]byte("Exif\x00\x00"), orientationEXIF(orientation)...))
				}
			}
		case m == jpegAPP2 && bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")),
			m == jpegAPPE && bytes.HasPrefix(payload, []byte("Adobe")):
			out = append(out, seg...)
		case m >= jpegAPP0 && m <= 0xEF, m == jpegCOM:
			// Metadata: dropped.
		case m == jpegSOS:
			out = append(out, seg...)
			// Entropy-coded data runs to the next marker that is not a
			// stuffed 0xFF00 or a restart marker.
			j := i
			for j+1 < len(b) && (b[j] != 0xFF || b[j+1] == 0x00 || (b[j+1] >= 0xD0 && b[j+1] <= 0xD7)) {
				j++
			}
			if j+1 >= len(b) { // truncated scan: keep what there is
				j = len(b)
			}
			out = append(out, b[i:j]...)
			i = j
		default:
			out = append(out, seg...)
		}
	}
	return out, nil // no EOI: a truncated picture, which browsers show in part
}

func appendJPEGSegment(out []byte, marker byte, payload []byte) []byte {
	out = append(out, 0xFF, marker)
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	return append(out, payload...)
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 of an EXIF
// TIFF structure; 0 when there is none or it cannot be read.
func exifOrientation(tiff []byte) uint16 {
	if len(tiff) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > len(tiff) {
		return 0
	}
	count := int(order.Uint16(tiff[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(tiff) {
			return 0
		}
		if order.Uint16(tiff[e:]) == 0x0112 && order.Uint16(tiff[e+2:]) == 3 { // SHORT
			if o := order.Uint16(tiff[e+8:]); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// orientationEXIF is an EXIF TIFF structure holding the Orientation tag
// alone.
func orientationEXIF(o uint16) []byte {
	t := []byte("MM\x00\x2a\x00\x00\x00\x08") // big-endian, IFD0 at 8
	t = binary.BigEndian.AppendUint16(t, 1)   // one entry
	t = binary.BigEndian.AppendUint16(t, 0x0112)
	t = binary.BigEndian.AppendUint16(t, 3) // SHORT
	t = binary.BigEndian.AppendUint32(t, 1)
	t = binary.BigEndian.AppendUint16(t, o)
	t = append(t, 0, 0)
	return binary.BigEndian.AppendUint32(t, 0) // no next IFD
}

// pngKeep are the PNG chunks kept: the critical ones and those that say
// how to show the picture (colour, transparency, density, animation).
// Text, time, EXIF and unknown ancillary chunks are dropped.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "cHRM": true, "gAMA": true, "iCCP": true, "sBIT": true, "sRGB": true,
	"cICP": true, "mDCV": true, "cLLI": true, "mDCv": true, "cLLi": true,
	"bKGD": true, "hIST": true, "pHYs": true, "sPLT": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

const pngSignature = "\x89PNG\r\n\x1a\n"

// stripPNG keeps the chunks of pngKeep (and unknown critical ones, which
// are not metadata) up to IEND, with an eXIf holding only the orientation
// when the picture had one.
func stripPNG(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte(pngSignature)) {
		return nil, ErrDamaged
	}
	var orientation uint16
	type chunk struct {
		typ  string
		data []byte // the whole chunk: length, type, data, CRC
	}
	var chunks []chunk
	for i := len(pngSignature); ; {
		if i+12 > len(b) {
			return nil, ErrDamaged
		}
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || n > len(b)-i-12 {
			return nil, ErrDamaged
		}
		typ := string(b[i+4 : i+8])
		if typ == "eXIf" && orientation == 0 {
			orientation = exifOrientation(b[i+8 : i+8+n])
		}
		critical := typ[0] >= 'A' && typ[0] <= 'Z'
		if pngKeep[typ] || critical {
			chunks = append(chunks, chunk{typ, b[i : i+12+n]})
		}
		i += 12 + n
		if typ == "IEND" {
			break
		}
	}
	out := make([]byte, 0, len(b))
	out = append(out, pngSignature...)
	for _, c := range chunks {
		out = append(out, c.data...)
		if c.typ == "IHDR" && orientation > 1 {
			out = appendPNGChunk(out, "eXIf", orientationEXIF(orientation))
		}
	}
	return out, nil
}

func appendPNGChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// webpKeep are the WebP chunks kept; EXIF, XMP and unknown chunks go.
var webpKeep = map[string]bool{"VP8X": true, "VP8 ": true, "VP8L": true, "ALPH": true, "ANIM": true, "ANMF": true, "ICCP": true}

// VP8X flags of the metadata chunks.
const (
	webpFlagEXIF = 0x08
	webpFlagXMP  = 0x04
)

// stripWebP drops the EXIF and XMP chunks, clears their flags in VP8X and
// rewrites the RIFF size; an EXIF holding only the orientation is added
// back when the picture had one.
func stripWebP(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, ErrDamaged
	}
	end := 8 + int(binary.LittleEndian.Uint32(b[4:]))
	if end > len(b) || end < 12 {
		return nil, ErrDamaged
	}
	out := make([]byte, 12, len(b))
	copy(out, b[:12])
	var orientation uint16
	vp8x := -1 // offset of the VP8X payload in out
	for i := 12; i < end; {
		if i+8 > end {
			return nil, ErrDamaged
		}
		typ := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || n > end-i-8 {
			return nil, ErrDamaged
		}
		whole := min(8+n+n%2, end-i) // chunks are padded to an even size
		if typ == "EXIF" && orientation == 0 {
			// Some writers put JPEG's "Exif\0\0" before the TIFF header.
			orientation = exifOrientation(bytes.TrimPrefix(b[i+8:i+8+n], []byte("Exif\x00\x00")))
		}
		if webpKeep[typ] {
			if typ == "VP8X" {
				vp8x = len(out) + 8
			}
			out = append(out, b[i:i+whole]...)
			if whole%2 == 1 {
				out = append(out, 0)
			}
		}
		i += whole
	}
	if vp8x >= 0 && vp8x < len(out) {
		out[vp8x] &^= webpFlagEXIF | webpFlagXMP
		if orientation > 1 {
			out[vp8x] |= webpFlagEXIF
			exif := orientationEXIF(orientation)
			out = append(out, "EXIF"...)
			out = binary.LittleEndian.AppendUint32(out, uint32(len(exif)))
			out = append(out, exif...) // even length: no padding
		}
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}

// GIF blocks and extension labels.
const (
	gifExtension   = 0x21
	gifImage       = 0x2C
	gifTrailer     = 0x3B
	gifComment     = 0xFE
	gifApplication = 0xFF
)

// gifApplications are the application extensions kept: looping of
// animations (Netscape's and its twin) and ICC profiles. Others (XMP,
// private data) go.
var gifApplications = []string{"NETSCAPE2.0", "ANIMEXTS1.0", "ICCRGBG1012"}

// stripGIF drops comment extensions and application extensions other than
// gifApplications, and whatever follows the trailer.
func stripGIF(b []byte) ([]byte, error) {
	if len(b) < 13 || (string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a") {
		return nil, ErrDamaged
	}
	i := 13
	if b[10]&0x80 != 0 { // global colour table
		i += 3 << (b[10]&7 + 1)
	}
	if i > len(b) {
		return nil, ErrDamaged
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:i]...)
	// subBlocks returns the end of the data sub-blocks starting at j.
	subBlocks := func(j int) (int, error) {
		for j < len(b) {
			n := int(b[j])
			j += 1 + n
			if n == 0 {
				return j, nil
			}
		}
		return 0, ErrDamaged
	}
	for i < len(b) {
		start := i
		switch b[i] {
		case gifTrailer:
			return append(out, gifTrailer), nil
		case gifImage:
			if i+11 > len(b) {
				return nil, ErrDamaged
			}
			i += 10
			if b[start+9]&0x80 != 0 { // local colour table
				i += 3 << (b[start+9]&7 + 1)
			}
			end, err := subBlocks(i + 1) // after the LZW minimum code size
			if err != nil {
				return nil, err
			}
			out = append(out, b[start:end]...)
			i = end
		case gifExtension:
			if i+2 > len(b) {
				return nil, ErrDamaged
			}
			end, err := subBlocks(i + 2)
			if err != nil {
				return nil, err
			}
			keep := b[i+1] != gifComment
			if b[i+1] == gifApplication {
				keep = false
				for _, app := range gifApplications {
					if i+3+len(app) <= end && b[i+2] == 11 && string(b[i+3:i+3+len(app)]) == app {
						keep = true
					}
				}
			}
			if keep {
				out = append(out, b[start:end]...)
			}
			i = end
		default:
			return nil, ErrDamaged
		}
	}
	return append(out, gifTrailer), nil // no trailer: end the stream properly
}
