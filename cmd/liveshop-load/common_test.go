package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// mustCommon parses the common flags of a scenario named name.
func mustCommon(tb testing.TB, name string, args ...string) *common {
	tb.Helper()
	fs, c := newFlags(name)
	if err := c.parse(fs, args); err != nil {
		tb.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func TestResult(t *testing.T) {
	t.Run("prints every common key in JSON even when zero, then the scenario's own", func(t *testing.T) {
		c := mustCommon(t, "api", "-json")
		res := c.newResult(map[string]any{"concurrency": 4})
		lat := &latencies{}
		lat.add(2 * time.Millisecond)
		res.setPercentiles("checkout", lat)
		res.set("orders", 7)
		res.setFirstError(errors.New("boom"))

		var buf bytes.Buffer
		if err := res.print(&buf); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("output is not one JSON object: %v\n%s", err, buf.Bytes())
		}
		for _, k := range []string{"scenario", "params", "duration_s", "rate_per_s", "p50_ms", "p95_ms", "p99_ms",
			"errors", "server_cpu_s", "server_rss_mb", "checkout_p50_ms", "checkout_p99_ms", "orders", "first_error"} {
			if _, ok := got[k]; !ok {
				t.Errorf("key %q missing from %s", k, buf.Bytes())
			}
		}
		if got["scenario"] != "api" || got["checkout_p99_ms"] != 2.0 || got["first_error"] != "boom" {
			t.Errorf("unexpected values: %s", buf.Bytes())
		}
	})

	t.Run("adds no first_error without an error", func(t *testing.T) {
		res := mustCommon(t, "api").newResult(nil)
		res.setFirstError(nil)
		if len(res.Extra) != 0 {
			t.Errorf("extra keys %v, want none", res.Extra)
		}
	})

	t.Run("prints a table with the parameters sorted and the keys in order", func(t *testing.T) {
		res := mustCommon(t, "sale").newResult(map[string]any{"units": 10, "buyers": 2})
		res.set("reserved", 10)
		res.set("sold", 10)
		var buf bytes.Buffer
		if err := res.print(&buf); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			f := strings.Fields(line)
			if f[0] == "param" {
				keys = append(keys, f[0]+" "+f[1])
				continue
			}
			keys = append(keys, f[0])
		}
		want := "scenario param buyers param units duration_s rate_per_s p50_ms p95_ms p99_ms errors server_cpu_s server_rss_mb reserved sold"
		if got := strings.Join(keys, " "); got != want {
			t.Errorf("table keys\n got %s\nwant %s", got, want)
		}
	})
}

func TestLatencies(t *testing.T) {
	t.Run("reports zeros without samples", func(t *testing.T) {
		if p50, p95, p99 := (&latencies{}).percentiles(); p50 != 0 || p95 != 0 || p99 != 0 {
			t.Errorf("got %v %v %v, want zeros", p50, p95, p99)
		}
	})
	t.Run("picks the nearest rank of 100 samples in any order", func(t *testing.T) {
		l := &latencies{}
		for i := 100; i >= 1; i-- {
			l.add(time.Duration(i) * time.Millisecond)
		}
		p50, p95, p99 := l.percentiles()
		if p50 != 51 || p95 != 96 || p99 != 100 || l.count() != 100 {
			t.Errorf("got p50 %v p95 %v p99 %v count %d, want 51 96 100 100", p50, p95, p99, l.count())
		}
	})
	t.Run("keeps microseconds", func(t *testing.T) {
		l := &latencies{}
		l.add(1500 * time.Microsecond)
		if p50, _, _ := l.percentiles(); p50 != 1.5 {
			t.Errorf("p50 %v, want 1.5", p50)
		}
	})
}

func TestRound(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{1.23456, 1.235}, {2, 2}, {0.0004, 0}, {-1.5, -1.5}} {
		if got := round(c.in); got != c.want {
			t.Errorf("round(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestProcStat(t *testing.T) {
	// A command name with spaces and parentheses, utime 150 and stime 50
	// ticks, 256 resident pages.
	const stat = "42 (a (weird) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 100 1000000 256 18446744073709551615 0 0"

	t.Run("reads CPU seconds and resident memory after the command name", func(t *testing.T) {
		u, err := parseProcStat(stat, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if u.cpuSeconds != 2 || u.rssMB != 1 {
			t.Errorf("got %+v, want 2 CPU seconds and 1 MB", u)
		}
	})
	t.Run("refuses a short or malformed line", func(t *testing.T) {
		for _, bad := range []string{"", "42 (cmd", "42 (cmd) S 1 2 3"} {
			if _, err := parseProcStat(bad, 4096); err == nil {
				t.Errorf("parseProcStat(%q) succeeded", bad)
			}
		}
	})
	t.Run("reads a live process and sums several", func(t *testing.T) {
		if _, err := os.Stat("/proc/self/stat"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI runs on Linux, where /proc must exist: %v", err)
			}
			t.Skip("no /proc on this system (the load generator reads CPU time from Linux's /proc)")
		}
		one, err := readProcUsage([]int{os.Getpid()})
		if err != nil {
			t.Fatal(err)
		}
		if one.rssMB <= 0 {
			t.Errorf("resident memory %v MB, want some", one.rssMB)
		}
		two, err := readProcUsage([]int{os.Getpid(), os.Getpid()})
		if err != nil {
			t.Fatal(err)
		}
		if two.rssMB < one.rssMB {
			t.Errorf("two processes %v MB, less than one %v MB", two.rssMB, one.rssMB)
		}
	})
	t.Run("names a process that is gone", func(t *testing.T) {
		if _, err := readProcUsage([]int{-1}); err == nil || !strings.Contains(err.Error(), "server process -1") {
			t.Errorf("err %v, want one naming the process", err)
		}
	})
}
