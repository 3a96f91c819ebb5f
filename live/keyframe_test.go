package live

import "testing"

func TestVP8KeyframeStart(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"plain descriptor, key frame", []byte{0x10, 0x00, 0x00, 0x00}, true},
		{"plain descriptor, inter frame", []byte{0x10, 0x01, 0x00, 0x00}, false},
		{"not the start of a partition", []byte{0x00, 0x00}, false},
		{"second partition", []byte{0x11, 0x00}, false},
		{"7-bit picture ID", []byte{0x90, 0x80, 0x05, 0x00}, true},
		{"15-bit picture ID", []byte{0x90, 0x80, 0x81, 0x05, 0x00}, true},
		{"15-bit picture ID, inter", []byte{0x90, 0x80, 0x81, 0x05, 0x01}, false},
		{"picture ID, TL0PICIDX and TID", []byte{0x90, 0xe0, 0x05, 0x01, 0x20, 0x00}, true},
		{"truncated extension", []byte{0x90, 0x80}, false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		if got := vp8KeyframeStart(c.payload); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestH264Keyframe(t *testing.T) {
	cases := []struct {
		name     string
		payload  []byte
		sps, idr bool
	}{
		{"single SPS", []byte{0x67, 0x42}, true, false},
		{"single IDR slice", []byte{0x65, 0x88}, false, true},
		{"non-IDR slice", []byte{0x41, 0x9a}, false, false},
		{"STAP-A with SPS and PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true, false},
		{"STAP-A with a bad length", []byte{0x78, 0, 9, 0x67}, false, false},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0x88}, false, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0x88}, false, false},
		{"FU-A of a non-IDR slice", []byte{0x7c, 0x81, 0x88}, false, false},
		{"empty", nil, false, false},
	}
	for _, c := range cases {
		sps, idr := h264Keyframe(c.payload)
		if sps != c.sps || idr != c.idr {
			t.Errorf("%s: got sps=%v idr=%v", c.name, sps, idr)
		}
	}
}
