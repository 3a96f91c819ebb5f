package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// common holds the flags every scenario shares.
type common struct {
	name      string
	targets   []string
	pids      []int
	duration  time.Duration
	json      bool
	targetArg string
	pidArg    string
}

// newFlags returns a flag set for scenario name with the common flags
// registered; call c.parse after adding the scenario's own.
func newFlags(name string) (*flag.FlagSet, *common) {
	c := &common{name: name}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.targetArg, "target", "http://127.0.0.1:8080", "base URL of the server; comma-separated for several nodes")
	fs.StringVar(&c.pidArg, "server-pid", "", "comma-separated PIDs of the server processes, to report their CPU and memory")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run the load")
	fs.BoolVar(&c.json, "json", false, "print one JSON object instead of a table")
	return fs, c
}

// target is the node client i talks to: clients spread over the -target
// nodes round robin, as behind a load balancer.
func (c *common) target(i int) string { return c.targets[i%len(c.targets)] }

func (c *common) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, t := range strings.Split(c.targetArg, ",") {
		if t = strings.TrimRight(strings.TrimSpace(t), "/"); t != "" {
			c.targets = append(c.targets, t)
		}
	}
	if len(c.targets) == 0 {
		return errors.New("-target is required")
	}
	for _, p := range strings.Split(c.pidArg, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pid, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("-server-pid: %q is not a PID", p)
		}
		c.pids = append(c.pids, pid)
	}
	return nil
}

// result is what a scenario reports. The JSON form is flat: the common keys
// (all present even when zero) plus the scenario's own.
type result struct {
	Scenario    string
	Params      map[string]any
	DurationS   float64
	RatePerS    float64
	Latency     *latencies
	Errors      int64
	ServerCPUS  float64
	ServerRSSMB float64
	// Extra holds the scenario's own keys, in the order they are printed.
	Extra []kv
	json  bool
}

type kv struct {
	Key   string
	Value any
}

func (c *common) newResult(params map[string]any) *result {
	return &result{Scenario: c.name, Params: params, Latency: &latencies{}, json: c.json}
}

func (r *result) set(key string, value any) { r.Extra = append(r.Extra, kv{key, value}) }

// setPercentiles adds prefix_p50_ms and prefix_p99_ms: the median and tail
// of one part of the load, next to the common percentiles of all of it.
func (r *result) setPercentiles(prefix string, l *latencies) {
	p50, _, p99 := l.percentiles()
	r.set(prefix+"_p50_ms", round(p50))
	r.set(prefix+"_p99_ms", round(p99))
}

// setFirstError adds first_error when err is not nil: the errors count
// says how many, this says why.
func (r *result) setFirstError(err error) {
	if err != nil {
		r.set("first_error", err.Error())
	}
}

func (r *result) fields() []kv {
	p50, p95, p99 := r.Latency.percentiles()
	out := []kv{
		{"scenario", r.Scenario}, {"params", r.Params}, {"duration_s", round(r.DurationS)},
		{"rate_per_s", round(r.RatePerS)}, {"p50_ms", round(p50)}, {"p95_ms", round(p95)}, {"p99_ms", round(p99)},
		{"errors", r.Errors}, {"server_cpu_s", round(r.ServerCPUS)}, {"server_rss_mb", round(r.ServerRSSMB)},
	}
	return append(out, r.Extra...)
}

func round(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

func (r *result) print(w io.Writer) error {
	fields := r.fields()
	if r.json {
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f.Key] = f.Value
		}
		return json.NewEncoder(w).Encode(m)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		if f.Key == "params" {
			keys := make([]string, 0, len(r.Params))
			for k := range r.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(tw, "param %s\t%v\n", k, r.Params[k])
			}
			continue
		}
		fmt.Fprintf(tw, "%s\t%v\n", f.Key, f.Value)
	}
	return tw.Flush()
}

// latencies collects samples in milliseconds from many goroutines.
type latencies struct {
	mu      sync.Mutex
	samples []float64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, float64(d.Microseconds())/1000)
	l.mu.Unlock()
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.samples)
}

func (l *latencies) percentiles() (p50, p95, p99 float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), l.samples...)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.95), at(0.99)
}

// procUsage is CPU time and resident memory of server processes, read from
// /proc so the load generator's own work on the same machine is not counted.
type procUsage struct {
	cpuSeconds float64
	rssMB      float64
}

const clockTicks = 100 // USER_HZ on Linux

func readProcUsage(pids []int) (procUsage, error) {
	var u procUsage
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return u, fmt.Errorf("server process %d: %w", pid, err)
		}
		p, err := parseProcStat(string(stat), os.Getpagesize())
		if err != nil {
			return u, fmt.Errorf("server process %d: %w", pid, err)
		}
		u.cpuSeconds += p.cpuSeconds
		u.rssMB += p.rssMB
	}
	return u, nil
}

// parseProcStat reads the CPU time (utime + stime) and resident set of one
// process from its /proc/PID/stat line.
func parseProcStat(stat string, pageSize int) (procUsage, error) {
	// Fields after the command name, which is in parentheses and may hold
	// spaces and parentheses itself.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 || end+2 > len(stat) {
		return procUsage{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(stat[end+2:])
	if len(f) < 22 {
		return procUsage{}, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ := strconv.ParseFloat(f[21], 64)
	return procUsage{cpuSeconds: (utime + stime) / clockTicks, rssMB: rssPages * float64(pageSize) / (1 << 20)}, nil
}

// measureServer samples server CPU before and after fn and records the
// difference and the final memory in r.
func measureServer(r *result, pids []int, fn func() error) error {
	before, err := readProcUsage(pids)
	if err != nil {
		return err
	}
	start := time.Now()
	runErr := fn()
	r.DurationS = time.Since(start).Seconds()
	after, err := readProcUsage(pids)
	if err != nil {
		return err
	}
	r.ServerCPUS = after.cpuSeconds - before.cpuSeconds
	r.ServerRSSMB = after.rssMB
	return runErr
}
