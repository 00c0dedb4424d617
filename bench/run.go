package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// meas is one target measured at one N.
type meas struct {
	T     *target
	N     int
	Runs  []outcome
	RSSKB int64 // the largest VmHWM of the traced runs
	Code  int   // exit code of the first (captured) run
	First string
	Err   string
}

// series is one quantity of every run, in run order.
func (m *meas) series(f func(outcome) time.Duration) []time.Duration {
	d := make([]time.Duration, len(m.Runs))
	for i, r := range m.Runs {
		d[i] = f(r)
	}
	return d
}

func wallOf(o outcome) time.Duration { return o.Wall }

func (m *meas) Median() time.Duration { return median(m.series(wallOf)) }
func (m *meas) CPU() time.Duration    { return median(m.series(outcome.CPU)) }

// Valid says whether the numbers mean anything: the process ran, and a
// check did not answer UNKNOWN (which would mean the harness called it
// wrongly, or it failed before doing the work).
func (m *meas) Valid() bool {
	if m.Err != "" || len(m.Runs) == 0 {
		return false
	}
	if m.T.Check {
		return m.Code >= 0 && m.Code <= 2
	}
	return m.Code == 0
}

// skipped is a target that could not be measured, and why.
type skipped struct {
	Key, Why string
}

// levelInfo is what the load looked like at one N.
type levelInfo struct {
	N        int
	Setup    time.Duration
	Census   Census
	CensusEr string
}

// Report is the outcome of a run.
type Report struct {
	Cfg      config
	Started  time.Time
	Took     time.Duration
	Machine  string
	Targets  []*target
	Meas     map[string]map[int]*meas // key -> N -> meas
	Levels   []levelInfo
	Skipped  []skipped
	Profiles []string
	Teardown string
	Workers  int    // processes that held the load
	FDLimit  uint64 // the hard RLIMIT_NOFILE that made them necessary
}

func (r *Report) get(key string, n int) *meas {
	if byN, ok := r.Meas[key]; ok {
		return byN[n]
	}
	return nil
}

func logf(cfg config, format string, args ...any) {
	fmt.Fprintf(cfg.Log, "bench: "+format+"\n", args...)
}

// run does the whole measurement.
func run(cfg config) (*Report, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root: a network namespace of its own, and ptrace to read each child's peak RSS")
	}
	deadline := time.Now().Add(cfg.Limit)
	rep := &Report{Cfg: cfg, Started: time.Now().UTC(), Meas: map[string]map[int]*meas{}, Machine: machineLine()}
	tmp, err := os.MkdirTemp("", "opschecks-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// The checks that exist, built as the Makefile builds them.
	logf(cfg, "building the checks")
	bins, buildSkips := buildChecks(cfg.Root, filepath.Join(tmp, "bin"))
	rep.Skipped = append(rep.Skipped, buildSkips...)

	paths := map[string]string{}
	var ts []*target
	skippedBin := map[string]bool{}
	for _, s := range buildSkips {
		skippedBin[s.Key] = true
	}
	for _, t := range targets() {
		if t.Tool {
			p, err := buildTool(cfg.Root, filepath.Join(tmp, "bin"), t.Bin)
			if err != nil {
				rep.Skipped = append(rep.Skipped, skipped{t.Key, err.Error()})
				continue
			}
			paths[t.Key] = p
		} else if t.Check {
			p, ok := bins[t.Bin]
			if !ok {
				if !skippedBin[t.Bin] {
					rep.Skipped = append(rep.Skipped, skipped{t.Key, "cmd/" + t.Bin + " does not exist yet"})
				}
				continue
			}
			paths[t.Key] = p
		} else {
			p, err := exec.LookPath(t.Bin)
			if err != nil {
				rep.Skipped = append(rep.Skipped, skipped{t.Key, t.Bin + " is not installed (Debian monitoring-plugins-basic / iproute2 / conntrack; scripts/install-test-deps.sh installs them)"})
				continue
			}
			paths[t.Key] = p
		}
		ts = append(ts, t)
	}

	ns, err := newNSThread()
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	ld, err := newLoad(ns)
	if err != nil {
		return nil, err
	}
	tornDown := false
	defer func() {
		if !tornDown {
			ld.Close()
		}
	}()
	if err := ld.FillQueue(); err != nil {
		return nil, fmt.Errorf("filling the accept queue: %v", err)
	}

	v := vars{"LOADPORT": itoa(ld.LoadPort), "QPORT": itoa(ld.QueuePort), "PROBEPORT": itoa(ld.ProbePort),
		"STATE": filepath.Join(tmp, "state")}

	// Components some targets need.
	needs := map[string]string{} // need -> why missing
	wants := map[string]bool{}
	for _, t := range ts {
		for _, n := range strings.Split(t.Needs, ",") {
			wants[n] = n != ""
		}
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	// start runs a component a target needs and puts its number (port,
	// PID) in v[key], or records why it is missing.
	start := func(need, key string, f func() (int, func(), error)) {
		if !wants[need] {
			return
		}
		n, stop, err := f()
		if err != nil {
			needs[need] = err.Error()
			return
		}
		stops = append(stops, stop)
		v[key] = itoa(n)
	}
	start("ferretdb", "FERRET", func() (int, func(), error) { return startFerret(ns, tmp) })
	start("heap", "HEAPPID", func() (int, func(), error) { return startHeap(heapMiB(cfg)) })
	start("conntrack", "CTENTRIES", func() (int, func(), error) { return startConntrack(ns) })
	if wants["numa2"] {
		dir := filepath.Join(cfg.Root, "internal", "numa", "testdata", "host2", "sys")
		if _, err := os.Stat(filepath.Join(dir, "devices", "system", "node", "node1")); err != nil {
			needs["numa2"] = "the 2-node fixture sysfs internal/numa/testdata/host2 is not there"
		} else {
			v["NUMA2"] = dir
		}
	}
	var kept []*target
	for _, t := range ts {
		missing := ""
		for _, n := range strings.Split(t.Needs, ",") {
			if why, bad := needs[n]; bad {
				missing = why
			}
		}
		if missing != "" {
			rep.Skipped = append(rep.Skipped, skipped{t.Key, missing})
			continue
		}
		kept = append(kept, t)
	}
	ts = kept
	rep.Targets = ts

	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	sp := &spawner{ns: ns, devnull: devnull,
		env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=" + tmp}}

	for li, n := range cfg.Levels {
		if time.Now().After(deadline) {
			rep.Skipped = append(rep.Skipped, skipped{fmt.Sprintf("N=%d", n), "the harness ran out of its time limit before this level"})
			continue
		}
		t0 := time.Now()
		logf(cfg, "N=%d: opening connections", n)
		if err := ld.Grow(n, t0.Add(2*time.Minute)); err != nil {
			// Report what was measured below this N rather than nothing.
			rep.Skipped = append(rep.Skipped, skipped{fmt.Sprintf("N=%d and above", n), "the load could not be created: " + err.Error()})
			break
		}
		info := levelInfo{N: n, Setup: time.Since(t0)}
		if c, err := ld.Census(); err != nil {
			info.CensusEr = err.Error()
		} else {
			info.Census = c
		}
		rep.Levels = append(rep.Levels, info)
		// Opening 20,000 sockets and handing them to the workers leaves the
		// kernel and the workers busy for a moment after the census: measure
		// the steady state a monitored host is in, not that transient.
		time.Sleep(cfg.Settle)
		var here []*target
		for _, t := range ts {
			if t.FirstOnly && li > 0 {
				continue
			}
			here = append(here, t)
		}
		logf(cfg, "N=%d: %d established sockets, measuring %d command lines", n, info.Census.Established, len(here))
		for _, m := range measureLevel(cfg, sp, here, paths, v, n, tmp, deadline) {
			if rep.Meas[m.T.Key] == nil {
				rep.Meas[m.T.Key] = map[int]*meas{}
			}
			rep.Meas[m.T.Key][n] = m
		}
	}

	// Profile the misses while the load that caused them is still there:
	// once per command line, at the largest N it missed at.
	if cfg.Profile {
		at := map[string]int{}
		var order []string
		for _, vd := range rep.Verdicts() {
			if vd.Status != "MISS" {
				continue
			}
			if _, seen := at[vd.T.Key]; !seen {
				order = append(order, vd.T.Key)
			}
			at[vd.T.Key] = max(at[vd.T.Key], vd.N)
		}
		for _, key := range order {
			if time.Now().After(deadline) {
				break
			}
			m := rep.get(key, at[key])
			logf(cfg, "profiling %s at N=%d", key, m.N)
			rep.Profiles = append(rep.Profiles, profile(sp, rep, m, m.T.argv(paths[key], v), tmp))
		}
	}

	rep.Workers = ld.Workers()
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		rep.FDLimit = rl.Max
	}
	t0 := time.Now()
	ld.Close()
	tornDown = true
	if c, err := ld.Census(); err != nil {
		rep.Teardown = "census after teardown failed: " + err.Error()
	} else {
		rep.Teardown = fmt.Sprintf("all load sockets closed with RST in %s; %d ESTABLISHED sockets left in the namespace (FerretDB's and the probe server's own, if any), the namespace goes with the harness", round(time.Since(t0)), c.Established)
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// measureLevel measures the targets at one N: warm-up runs (the first
// captured, for the exit code and first line), then timed runs interleaved
// round-robin (so drift and noise from other work on the machine hit
// every target alike) until each has MinRuns and its Budget, or MaxRuns;
// then RSSRuns traced runs for the peak RSS.
func measureLevel(cfg config, sp *spawner, ts []*target, paths map[string]string, v vars, n int, tmp string, deadline time.Time) []*meas {
	ms := make([]*meas, len(ts))
	argvs := make([][]string, len(ts))
	spent := make([]time.Duration, len(ts))
	for i, t := range ts {
		m := &meas{T: t, N: n}
		ms[i] = m
		argvs[i] = t.argv(paths[t.Key], v)
		out, err := os.Create(filepath.Join(tmp, "out"))
		if err != nil {
			m.Err = err.Error()
			continue
		}
		o, err := sp.run(argvs[i], out, false)
		out.Close()
		if err != nil {
			m.Err = err.Error()
			continue
		}
		m.Code = o.Code
		m.First = firstLine(filepath.Join(tmp, "out"))
		for w := 1; w < cfg.WarmUp; w++ {
			_, _ = sp.run(argvs[i], nil, false)
		}
	}
	for {
		active := false
		for i, m := range ms {
			if m.Err != "" {
				continue
			}
			if len(m.Runs) >= cfg.MaxRuns || (len(m.Runs) >= cfg.MinRuns && (spent[i] >= cfg.Budget || time.Now().After(deadline))) {
				continue
			}
			active = true
			o, err := sp.run(argvs[i], nil, false)
			if err != nil {
				m.Err = err.Error()
				continue
			}
			m.Runs = append(m.Runs, o)
			spent[i] += o.Wall
		}
		if !active {
			break
		}
	}
	for i, m := range ms {
		if m.Err != "" {
			continue
		}
		for r := 0; r < cfg.RSSRuns; r++ {
			o, err := sp.run(argvs[i], nil, true)
			if err != nil {
				m.Err = "peak RSS: " + err.Error()
				break
			}
			m.RSSKB = max(m.RSSKB, o.HWMKB)
		}
	}
	return ms
}

func firstLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if sc.Scan() {
		l := sc.Text()
		if len(l) > 160 {
			l = l[:160] + "..."
		}
		return l
	}
	return ""
}
