package liveclient

// Synthetic media: frames with the structure of real VP8 and H.264 (key
// frame headers, NAL unit types) and pseudo-random content at a chosen
// size, so an SFU can find keyframes and count bytes without a codec.

// rng is a small deterministic generator (xorshift64*), so runs repeat.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = rng(x)
	return x * 2685821657736338717
}

// fill writes pseudo-random non-zero bytes (so no H.264 start code can
// appear inside a NAL unit).
func (r *rng) fill(b []byte) {
	for i := 0; i < len(b); {
		v := r.next()
		for j := 0; j < 8 && i < len(b); j++ {
			c := byte(v >> (8 * j))
			if c == 0 {
				c = 0x5a
			}
			b[i] = c
			i++
		}
	}
}

// VideoFrames makes synthetic frames of about size bytes each.
type VideoFrames struct {
	Codec string // VP8 or H264
	r     rng
	n     uint64
}

// NewVideoFrames returns a generator seeded with seed.
func NewVideoFrames(codec string, seed uint64) *VideoFrames {
	return &VideoFrames{Codec: codec, r: rng(seed | 1)}
}

// Next returns one frame of about size bytes; key makes it a keyframe.
func (v *VideoFrames) Next(size int, key bool) []byte {
	v.n++
	if v.Codec == H264 {
		return v.h264(size, key)
	}
	return v.vp8(size, key)
}

// vp8 builds an RFC 6386 frame: a 3-byte frame tag (key frame flag,
// version, show_frame, first partition size) and, for key frames, the
// start code and dimensions.
func (v *VideoFrames) vp8(size int, key bool) []byte {
	size = max(size, 16)
	b := make([]byte, size)
	v.r.fill(b)
	part := uint32(min(size-10, 1<<19-1))
	tag := part<<5 | 1<<4 // show_frame, version 0
	if !key {
		tag |= 1 // inter frame
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		b[6], b[7] = 640&0xff, 640>>8 // width
		b[8], b[9] = 360&0xff, 360>>8 // height
	}
	return b
}

// h264 builds an Annex B access unit: SPS, PPS and an IDR slice for key
// frames, a non-IDR slice otherwise.
func (v *VideoFrames) h264(size int, key bool) []byte {
	size = max(size, 32)
	var b []byte
	start := []byte{0, 0, 0, 1}
	if key {
		b = append(b, start...)
		b = append(b, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84) // SPS, constrained baseline 3.1
		b = append(b, start...)
		b = append(b, 0x68, 0xce, 0x3c, 0x80) // PPS
	}
	b = append(b, start...)
	slice := make([]byte, size)
	v.r.fill(slice)
	if key {
		slice[0] = 0x65 // IDR
	} else {
		slice[0] = 0x41 // non-IDR
	}
	return append(b, slice...)
}

// OpusFrame returns one 20 ms synthetic Opus packet of size bytes.
func OpusFrame(r *uint64, size int) []byte {
	g := rng(*r | 1)
	b := make([]byte, max(size, 2))
	g.fill(b)
	b[0] = 0xfc // TOC: CELT fullband 20 ms, stereo, one frame
	*r = uint64(g)
	return b
}

// IsKeyframeStart reports whether an RTP payload of codec (VP8 or H264)
// starts a keyframe.
func IsKeyframeStart(codec string, payload []byte) bool {
	if codec == H264 {
		return h264KeyStart(payload)
	}
	return vp8KeyStart(payload)
}

func vp8KeyStart(p []byte) bool {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x07 != 0 {
		return false
	}
	i := 1
	if p[0]&0x80 != 0 {
		if len(p) <= i {
			return false
		}
		x := p[i]
		i++
		if x&0x80 != 0 {
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 {
			i++
		}
		if x&0x30 != 0 {
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

func h264KeyStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch p[0] & 0x1f {
	case 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			n := int(p[i])<<8 | int(p[i+1])
			i += 2
			if n == 0 || i+n > len(p) {
				return false
			}
			if t := p[i] & 0x1f; t == 7 || t == 5 {
				return true
			}
			i += n
		}
	case 28: // FU-A start of an IDR
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	case 5:
		return true
	}
	return false
}
