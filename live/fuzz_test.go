package live

import (
	"strings"
	"testing"
)

// FuzzParseDescription feeds arbitrary WHIP/WHEP offers to the SDP checks
// that run before pion sees an offer, and to the codec choice that
// follows: nothing may panic, and what passes must be consistent.
func FuzzParseDescription(f *testing.F) {
	f.Add("")
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseDescription(raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(d.media) == 0 || len(d.media) > maxMediaSections {
			t.Fatalf("%d media sections passed", len(d.media))
		}
		for _, m := range d.media {
			for _, c := range m.codecs {
				if !strings.HasPrefix(c.mime, m.kind+"/") || c.clock == 0 {
					t.Fatalf("codec %+v in a %s section", c, m.kind)
				}
			}
		}
		plan, err := planPublish(d, mediaPlan{})
		if err == nil {
			for _, c := range plan.codecs() {
				if !c.usable() {
					t.Fatalf("planned an unusable codec %v", c)
				}
			}
		}
		if _, err := restartOffer(raw, "ufrag", "0123456789abcdef012345"); err != nil {
			t.Fatalf("restartOffer on an accepted offer: %v", err)
		}
	})
}

// FuzzParseFragment feeds arbitrary trickle-ICE PATCH bodies to the
// fragment parser.
func FuzzParseFragment(f *testing.F) {
	f.Add("a=end-of-candidates\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		frag, err := parseFragment(raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(frag.candidates) > maxFragmentCandidates {
			t.Fatalf("%d candidates passed", len(frag.candidates))
		}
		if (frag.ufrag == "") != (frag.pwd == "") {
			t.Fatal("half a set of credentials passed")
		}
		for _, c := range frag.candidates {
			if !strings.HasPrefix(c.line, "candidate:") {
				t.Fatalf("candidate line %q", c.line)
			}
		}
	})
}
