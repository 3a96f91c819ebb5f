package live

// Keyframe detection on RTP payloads, so a joining viewer starts on a frame
// its decoder can use and the SFU never needs to decode anything.

// vp8KeyframeStart reports whether payload (one RTP packet of VP8, RFC 7741)
// begins a key frame: the first partition's start with the inverse key frame
// flag clear.
func vp8KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b := payload[0]
	start, pid := b&0x10 != 0, b&0x07
	if !start || pid != 0 {
		return false
	}
	i := 1
	if b&0x80 != 0 { // X: extension byte follows
		if len(payload) <= i {
			return false
		}
		x := payload[i]
		i++
		if x&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(payload) <= i {
				return false
			}
			if payload[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	if len(payload) <= i {
		return false
	}
	return payload[i]&0x01 == 0 // P bit of the frame tag: 0 is a key frame
}

// H.264 NAL unit types that matter here (RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Keyframe reports the NAL unit types that start a decodable picture in
// payload: whether it carries a sequence parameter set and whether it
// starts an IDR slice. Encoders send SPS+PPS right before each IDR, so a
// viewer starts at the SPS (or at the IDR when no SPS came first).
func h264Keyframe(payload []byte) (sps, idrStart bool) {
	if len(payload) < 1 {
		return false, false
	}
	switch t := payload[0] & 0x1f; t {
	case naluSPS:
		return true, false
	case naluIDR:
		return false, true
	case naluSTAPA:
		for i := 1; i+2 < len(payload); {
			n := int(payload[i])<<8 | int(payload[i+1])
			i += 2
			if n == 0 || i+n > len(payload) {
				break
			}
			switch payload[i] & 0x1f {
			case naluSPS:
				sps = true
			case naluIDR:
				idrStart = true
			}
			i += n
		}
		return sps, idrStart
	case naluFUA:
		if len(payload) < 2 {
			return false, false
		}
		fu := payload[1]
		if fu&0x80 == 0 { // not the first fragment
			return false, false
		}
		switch fu & 0x1f {
		case naluSPS:
			return true, false
		case naluIDR:
			return false, true
		}
	}
	return false, false
}
