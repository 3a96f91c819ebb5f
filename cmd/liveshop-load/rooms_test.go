package main

import (
	"slices"
	"testing"
)

// TestScanSeqs feeds a raw viewer's byte stream in every possible pair of
// reads: each seq is found once, whole, wherever the cut falls.
func TestScanSeqs(t *testing.T) {
	stream := []byte(`[{"type":"comment","seq":41,"data":{}},{"type":"likes","seq":42,"data":{}}]` +
		"\x81\x7e\x00\x40" + `[{"type":"comment","seq":1234567,"data":{"text":"x"}}]`)
	want := []int64{41, 42, 1234567}
	for cut := 0; cut <= len(stream); cut++ {
		var got []int64
		add := func(seq int64) { got = append(got, seq) }
		buf := slices.Clone(stream[:cut])
		keep := scanSeqs(buf, add)
		buf = append(buf[len(buf)-keep:], stream[cut:]...)
		scanSeqs(buf, add)
		if !slices.Equal(got, want) {
			t.Fatalf("cut at %d: seqs %v, want %v", cut, got, want)
		}
	}
}

func TestSeqHoles(t *testing.T) {
	for _, tc := range []struct{ last, seq, want int64 }{
		{0, 17, 0}, // the first event (the snapshot) may have any seq
		{17, 18, 0},
		{17, 19, 1},
		{17, 27, 9},
		{17, 17, 0}, // a repeat is not a hole
	} {
		if got := seqHoles(tc.last, tc.seq); got != tc.want {
			t.Errorf("seqHoles(%d, %d) = %d, want %d", tc.last, tc.seq, got, tc.want)
		}
	}
}
