// Command bench measures every opschecks check that exists, as a whole
// process, against the C and iproute2 peers it must keep up with, under a
// load of N established loopback connections it creates itself in a
// private network namespace, and writes bench/RESULTS.md.
//
//	go run ./bench            the full run (N = 0, 10k, 50k, 100k), make bench
//	go run ./bench -smoke     N = 0 and 1000, few repetitions, report on stdout
//
// It needs root (a network namespace, raising RLIMIT_NOFILE, ptrace).
//
// Files: main.go (flags, config), targets.go (the rules and the command
// lines measured), run.go (the run: levels, measurements, Report),
// measure.go (one timed process: fork+exec, wait4, VmHWM), netns.go,
// load.go, worker.go, conntrack.go (the load and where it lives),
// procs.go (building the checks, FerretDB, the heap holder), profile.go
// (where a miss's time goes), verdict.go (judging the targets),
// report.go (RESULTS.md and the summary), format.go (durations, sizes,
// counts as the report prints them), machine.go (the machine line),
// results_data.go (the data block RESULTS.md keeps for the next run).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is one harness run.
type config struct {
	Smoke   bool
	Levels  []int // N: established connections
	WarmUp  int
	MinRuns int
	MaxRuns int
	Budget  time.Duration // per target and N, after MinRuns
	RSSRuns int
	Limit   time.Duration // the whole run
	Profile bool          // strace -c the misses
	Settle  time.Duration // quiet time after the load of each N is opened
	Root    string        // module root
	Out     string        // RESULTS.md to write ("" = stdout only)
	Log     io.Writer
}

func defaultConfig(smoke bool) config {
	if smoke {
		return config{Smoke: true, Levels: []int{0, 1000}, WarmUp: 1, MinRuns: 3, MaxRuns: 5,
			Budget: 300 * time.Millisecond, RSSRuns: 1, Limit: 50 * time.Second, Log: io.Discard}
	}
	return config{Levels: []int{0, 10000, 50000, 100000}, WarmUp: 2, MinRuns: 5, MaxRuns: 101,
		Budget: 2500 * time.Millisecond, RSSRuns: 3, Limit: 9 * time.Minute, Profile: true, Settle: 2 * time.Second, Log: os.Stderr}
}

func main() {
	// The same binary is also the load worker and the heap holder.
	if os.Getenv(workerEnv) != "" {
		workerMain()
		return
	}
	if os.Getenv(heapEnv) != "" {
		holdHeap()
		return
	}
	smoke := flag.Bool("smoke", false, "quick run: N = 0 and 1000, few repetitions, report to stdout unless -out")
	out := flag.String("out", "", "results file to write (default bench/RESULTS.md; none in -smoke mode)")
	levels := flag.String("n", "", "comma-separated N values (established connections), e.g. 0,10000")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()
	cfg := defaultConfig(*smoke)
	if *quiet {
		cfg.Log = io.Discard
	}
	if *levels != "" {
		cfg.Levels = nil
		for _, s := range strings.Split(*levels, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > 200000 {
				fmt.Fprintf(os.Stderr, "bench: -n: %q is not a count between 0 and 200000\n", s)
				os.Exit(2)
			}
			cfg.Levels = append(cfg.Levels, n)
		}
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	cfg.Root = root
	cfg.Out = *out
	if cfg.Out == "" && !cfg.Smoke {
		cfg.Out = root + "/bench/RESULTS.md"
	}
	rep, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	var prev []byte
	if cfg.Out != "" {
		prev, _ = os.ReadFile(cfg.Out)
	}
	md := rep.Markdown(prev)
	if cfg.Out == "" {
		fmt.Print(md)
		return
	}
	if err := os.WriteFile(cfg.Out, []byte(md), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", cfg.Out)
	fmt.Print(rep.Summary())
}

// moduleRoot finds the directory holding go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(d + "/go.mod"); err == nil && strings.Contains(string(b), "module github.com/opschecks/opschecks") {
			return d, nil
		}
		i := strings.LastIndex(d, "/")
		if i <= 0 {
			return "", fmt.Errorf("not inside the opschecks module (no go.mod above the working directory)")
		}
		d = d[:i]
	}
}
