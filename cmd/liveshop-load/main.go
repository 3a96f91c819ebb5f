// Command liveshop-load drives running Liveshop servers with one scenario per
// capability and reports throughput, latency and server cost.
//
//	liveshop-load SCENARIO [flags]
//
// Common flags: -target (comma-separated base URLs), -server-pid (comma-
// separated PIDs whose CPU and memory are read from /proc), -duration, -json.
// Each scenario adds its own flags; see liveshop-load SCENARIO -h.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// scenario runs one load scenario, parsing its own flags from args (see
// newFlags for the common ones).
type scenario func(ctx context.Context, args []string) (*result, error)

// scenarios lists what liveshop-load can run; each lives in its own file.
func scenarios() map[string]scenario {
	return map[string]scenario{
		"api":   runAPI,
		"feed":  runFeed,
		"rooms": runRooms,
		"sale":  runSale,
		"video": runVideo,
	}
}

func main() {
	all := scenarios()
	if len(os.Args) < 2 || all[os.Args[1]] == nil {
		names := make([]string, 0, len(all))
		for n := range all {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: liveshop-load SCENARIO [flags]\nscenarios: %v\n", names)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := all[os.Args[1]](ctx, os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "liveshop-load:", err)
		os.Exit(1)
	}
	if err := res.print(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "liveshop-load:", err)
		os.Exit(1)
	}
}
