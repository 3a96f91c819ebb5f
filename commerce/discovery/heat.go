package discovery

import (
	"math"
	"time"
)

// Heat is how discovery keeps exponentially decayed scores that can be
// updated incrementally and ranked by an index.
//
// An event of weight w at time t contributes w·e^((t−E)/τ) to a score,
// where E is a fixed epoch and τ = halfLife/ln 2. The stored value is the
// natural log of the sum of contributions. The score "now" is
// e^(heat − (now−E)/τ) = Σ w·e^(−(now−t)/τ), the decayed sum; because the
// factor e^(−(now−E)/τ) is the same for every item, ordering by heat is
// ordering by decayed score, so a plain descending index over heat answers
// "most popular right now". Adding events is a log-add, done in Go for a
// batch and in SQL for the stored row; heats grow by about ln 2 per
// half-life, so they never overflow.
const (
	// heatEpochUnix is E: 2026-01-01T00:00:00Z.
	heatEpochUnix = 1767225600
	// NoHeat is the heat of an item nothing happened to yet: minus
	// infinity for every practical purpose, yet a plain number that both
	// databases index and compare the same way.
	NoHeat = -1e18
)

// heatOf returns the log-contribution of weight w at t for halfLife.
func heatOf(w float64, t time.Time, halfLife time.Duration) float64 {
	if w <= 0 {
		return NoHeat
	}
	return math.Log(w) + heatClock(t, halfLife)
}

// heatClock is (t−E)/τ: the heat a weight of 1 gets at t.
func heatClock(t time.Time, halfLife time.Duration) float64 {
	secs := float64(t.UnixMicro())/1e6 - heatEpochUnix
	return secs * math.Ln2 / halfLife.Seconds()
}

// decayed turns a heat into the decayed score at now.
func decayed(heat float64, now time.Time, halfLife time.Duration) float64 {
	if heat <= NoHeat/2 {
		return 0
	}
	return math.Exp(heat - heatClock(now, halfLife))
}

// logAdd returns ln(e^a + e^b) without overflow.
func logAdd(a, b float64) float64 {
	hi, lo := a, b
	if lo > hi {
		hi, lo = lo, hi
	}
	if hi-lo > 40 {
		return hi
	}
	return hi + math.Log1p(math.Exp(lo-hi))
}
