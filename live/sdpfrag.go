package live

import (
	"fmt"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
)

// Limits on a trickle-ICE fragment.
const (
	maxFragmentCandidates = 64
	maxFragmentLine       = 1024
)

// iceFragment is an application/trickle-ice-sdpfrag body (RFC 8840) as WHIP
// and WHEP clients PATCH it: new candidates, or new credentials for an ICE
// restart.
type iceFragment struct {
	ufrag, pwd string
	candidates []fragmentCandidate
	end        bool // a=end-of-candidates
}

type fragmentCandidate struct {
	mid  string
	line string // "candidate:..." without the "a="
}

// parseFragment reads a trickle-ICE fragment, refusing (400) lines that do
// not belong in one and candidates ICE cannot parse.
func parseFragment(raw string) (*iceFragment, error) {
	f := &iceFragment{}
	mid := ""
	for n, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) > maxFragmentLine {
			return nil, BadRequest("trickle fragment line %d is too long", n+1)
		}
		if len(line) < 2 || line[1] != '=' {
			return nil, BadRequest("trickle fragment line %d is not an SDP line: %.40q", n+1, line)
		}
		switch line[0] {
		case 'm':
			mid = ""
			continue
		case 'c':
			continue
		case 'a':
		default:
			return nil, BadRequest("trickle fragment line %d: %q lines do not belong in a fragment", n+1, line[:1])
		}
		key, value, _ := strings.Cut(line[2:], ":")
		switch key {
		case "ice-ufrag":
			if value == "" || (f.ufrag != "" && f.ufrag != value) {
				return nil, BadRequest("trickle fragment has conflicting or empty ice-ufrag")
			}
			f.ufrag = value
		case "ice-pwd":
			if value == "" || (f.pwd != "" && f.pwd != value) {
				return nil, BadRequest("trickle fragment has conflicting or empty ice-pwd")
			}
			f.pwd = value
		case "mid":
			mid = value
		case "candidate":
			if len(f.candidates) >= maxFragmentCandidates {
				return nil, BadRequest("trickle fragment has more than %d candidates", maxFragmentCandidates)
			}
			if _, err := ice.UnmarshalCandidate(value); err != nil {
				return nil, BadRequest("trickle fragment line %d: bad candidate: %v", n+1, err)
			}
			f.candidates = append(f.candidates, fragmentCandidate{mid: mid, line: "candidate:" + value})
		case "end-of-candidates":
			f.end = true
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return nil, BadRequest("trickle fragment must carry both ice-ufrag and ice-pwd, or neither")
	}
	if f.ufrag == "" && len(f.candidates) == 0 && !f.end {
		return nil, BadRequest("trickle fragment has no candidates and no ICE credentials")
	}
	return f, nil
}

// restartOffer is the offer an ICE restart PATCH stands for: the session's
// previous remote description with the new credentials and no candidates,
// since WHIP and WHEP renegotiate nothing but ICE.
func restartOffer(previous string, ufrag, pwd string) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(previous); err != nil {
		return "", err
	}
	replace := func(attrs []sdp.Attribute) []sdp.Attribute {
		out := attrs[:0]
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				a.Value = ufrag
			case "ice-pwd":
				a.Value = pwd
			case "candidate", "end-of-candidates":
				continue
			}
			out = append(out, a)
		}
		return out
	}
	sd.Attributes = replace(sd.Attributes)
	for _, m := range sd.MediaDescriptions {
		m.Attributes = replace(m.Attributes)
	}
	sd.Origin.SessionVersion++
	b, err := sd.Marshal()
	return string(b), err
}

// answerFragment is the body of a 200 answer to an ICE restart: our new
// credentials and candidates, taken from the new local description.
func answerFragment(local string) (string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(local); err != nil {
		return "", err
	}
	var b strings.Builder
	ufrag, _ := sd.Attribute("ice-ufrag")
	pwd, _ := sd.Attribute("ice-pwd")
	if len(sd.MediaDescriptions) == 0 {
		return "", fmt.Errorf("local description has no media")
	}
	m := sd.MediaDescriptions[0]
	if v, ok := m.Attribute("ice-ufrag"); ok {
		ufrag = v
	}
	if v, ok := m.Attribute("ice-pwd"); ok {
		pwd = v
	}
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd)
	fmt.Fprintf(&b, "m=%s 9 %s %s\r\n", m.MediaName.Media, strings.Join(m.MediaName.Protos, "/"),
		strings.Join(m.MediaName.Formats, " "))
	if mid, ok := m.Attribute("mid"); ok {
		fmt.Fprintf(&b, "a=mid:%s\r\n", mid)
	}
	for _, a := range m.Attributes {
		if a.Key == "candidate" {
			fmt.Fprintf(&b, "a=candidate:%s\r\n", a.Value)
		}
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String(), nil
}

// iceCredentials returns the first ICE credentials of an SDP (session or
// first media level).
func iceCredentials(raw string) (ufrag, pwd string) {
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimRight(line, "\r")
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}
