package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opschecks/opschecks/internal/testenv/ferret"
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

// buildChecks builds every cmd/check_* as the Makefile does (static,
// stripped) into dir. All at once first; when that fails (a check is
// mid-edit), one by one, so one broken check does not hide the others.
func buildChecks(root, dir string) (map[string]string, []skipped) {
	names, _ := filepath.Glob(filepath.Join(root, "cmd", "check_*"))
	var pkgs []string
	for _, p := range names {
		if st, err := os.Stat(filepath.Join(p, "main.go")); err == nil && !st.IsDir() {
			pkgs = append(pkgs, filepath.Base(p))
		}
	}
	sort.Strings(pkgs)
	bins := map[string]string{}
	var skips []skipped
	if len(pkgs) == 0 {
		return bins, nil
	}
	build := func(names ...string) ([]byte, error) {
		args := []string{"build", "-trimpath", "-ldflags", "-s -w -X github.com/opschecks/opschecks/internal/plugin.Version=bench", "-o", dir + "/"}
		for _, n := range names {
			args = append(args, "./cmd/"+n)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		return cmd.CombinedOutput()
	}
	_ = os.MkdirAll(dir, 0o755)
	if _, err := build(pkgs...); err == nil {
		for _, n := range pkgs {
			bins[n] = filepath.Join(dir, n)
		}
		return bins, nil
	}
	for _, n := range pkgs {
		if out, err := build(n); err != nil {
			msg := strings.TrimSpace(string(out))
			if i := strings.Index(msg, "\n"); i >= 0 {
				// The first compiler error is the useful line.
				lines := strings.Split(msg, "\n")
				msg = lines[0]
				for _, l := range lines {
					if strings.Contains(l, ".go:") {
						msg = l
						break
					}
				}
			}
			skips = append(skips, skipped{n, "does not build: " + msg})
			continue
		}
		bins[n] = filepath.Join(dir, n)
	}
	return bins, skips
}

// buildTool builds one of the harness's own reference programs.
func buildTool(root, dir, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./bench/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench/%s does not build: %s", name, lastLine(string(b)))
	}
	return out, nil
}

// startFerret starts FerretDB (SQLite backend) inside the namespace on a
// free loopback port, as ../shared/DESIGN.md describes, and waits until it
// accepts connections.
func startFerret(ns *nsThread, tmp string) (int, func(), error) {
	bin, err := ferret.Look()
	if err != nil {
		return 0, nil, fmt.Errorf("FerretDB is not installed (scripts/install-test-deps.sh builds it into $(go env GOPATH)/bin)")
	}
	dir := filepath.Join(tmp, "ferretdb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, nil, err
	}
	var port int
	var cmd *exec.Cmd
	ns.Do(func() {
		var l net.Listener
		if l, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		logf2, e := os.Create(filepath.Join(tmp, "ferretdb.log"))
		if e != nil {
			err = e
			return
		}
		defer logf2.Close()
		cmd = exec.Command(bin, ferret.Args(dir, fmt.Sprintf("127.0.0.1:%d", port))...)
		cmd.Stdout, cmd.Stderr = logf2, logf2
		// Never outlives the harness; forked from the namespace's thread,
		// so it listens there.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err = cmd.Start()
	})
	if err != nil {
		return 0, nil, fmt.Errorf("starting FerretDB: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	until := time.Now().Add(30 * time.Second)
	for {
		var c net.Conn
		ns.Do(func() { c, err = net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), time.Second) })
		if err == nil {
			c.Close()
			return port, stop, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(tmp, "ferretdb.log"))
			return 0, nil, fmt.Errorf("FerretDB exited at start: %s", lastLine(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(until) {
			stop()
			return 0, nil, fmt.Errorf("FerretDB did not accept connections within 30 s")
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// The heap holder is this same program, re-executed with heapEnv set: it
// allocates and touches that many MiB and waits until its stdin closes.
// check_numa reads its numa_maps.
const heapEnv = "OPSCHECKS_BENCH_HOLD_HEAP_MIB"

func heapMiB(cfg config) int {
	if cfg.Smoke {
		return 16
	}
	return 512
}

var heapSink [][]byte

func holdHeap() {
	var mib int
	fmt.Sscan(os.Getenv(heapEnv), &mib)
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		heapSink = append(heapSink, b)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive(heapSink)
}

func startHeap(mib int) (int, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", heapEnv, mib))
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("starting the heap holder: %v", err)
	}
	stop := func() { in.Close(); _ = cmd.Wait() }
	ready := make(chan error, 1)
	go func() {
		l, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(l) != "ready" {
			err = fmt.Errorf("heap holder said %q", l)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			stop()
			return 0, nil, err
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		stop()
		return 0, nil, fmt.Errorf("the heap holder did not get ready in 60 s")
	}
	return cmd.Process.Pid, stop, nil
}

// profile says in one line where a missed target's time goes: how it
// compares with an empty Go program (the runtime's own start-up), the
// package initialisation (GODEBUG=inittrace=1), and the syscalls that took
// most system time (strace -f -c).
func profile(sp *spawner, rep *Report, m *meas, argv []string, tmp string) string {
	var parts []string
	head := fmt.Sprintf("`%s` at N=%s: median wall %s, CPU %s", m.T.Key, kN(m.N), ms(m.Median()), ms(m.CPU()))
	if g := rep.get(peerGo, m.N); g != nil && g.Valid() {
		head += fmt.Sprintf("; an empty Go program takes %s and check_dummy %s", ms(g.Median()), ms(medianOf(rep.get(peerDummy, m.N))))
	}
	parts = append(parts, head)
	if m.T.Check {
		out := filepath.Join(tmp, "inittrace.out")
		f, err := os.Create(out)
		if err == nil {
			env := sp.env
			sp.env = append(append([]string(nil), env...), "GODEBUG=inittrace=1")
			_, err = sp.run(argv, f, false)
			sp.env = env
			f.Close()
		}
		if err == nil {
			if b, err := os.ReadFile(out); err == nil {
				if s := summarizeInitTrace(string(b), 3); s != "" {
					parts = append(parts, s)
				}
			}
		}
	}
	if strace, err := exec.LookPath("strace"); err == nil {
		out := filepath.Join(tmp, "strace.out")
		_ = os.Remove(out)
		if _, err := sp.run(append([]string{strace, "-f", "-c", "-o", out}, argv...), nil, false); err == nil {
			if f, err := os.Open(out); err == nil {
				if top := parseStraceSummary(f, 4); len(top) > 0 {
					parts = append(parts, "its own syscalls by system time (strace -f -c, Go runtime bookkeeping left out): "+strings.Join(top, ", "))
				}
				f.Close()
			}
		}
	}
	return strings.Join(parts, "; ")
}

func medianOf(m *meas) time.Duration {
	if m == nil {
		return 0
	}
	return m.Median()
}

// summarizeInitTrace sums the "init PKG @T ms, C ms clock, ..." lines of
// GODEBUG=inittrace=1 and names the k most expensive packages.
func summarizeInitTrace(s string, k int) string {
	type pkg struct {
		name string
		ms   float64
	}
	var pkgs []pkg
	total := 0.0
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(f[4], &v); err != nil {
			continue
		}
		total += v
		pkgs = append(pkgs, pkg{f[1], v})
	}
	if len(pkgs) == 0 {
		return ""
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ms > pkgs[j].ms })
	var top []string
	for _, p := range pkgs[:min(k, len(pkgs))] {
		top = append(top, fmt.Sprintf("%s %.2f ms", p.name, p.ms))
	}
	return fmt.Sprintf("package init %.2f ms in %d packages (most: %s)", total, len(pkgs), strings.Join(top, ", "))
}

// runtimeSyscalls are the Go runtime's own bookkeeping (idle threads,
// signals, memory): present in every Go process, they say nothing about
// what a check does, so the profile leaves them out.
var runtimeSyscalls = map[string]bool{
	"futex": true, "nanosleep": true, "epoll_pwait": true, "epoll_wait": true, "epoll_ctl": true, "epoll_create1": true,
	"rt_sigaction": true, "rt_sigprocmask": true, "rt_sigreturn": true, "sigaltstack": true, "clone": true, "clone3": true,
	"mmap": true, "munmap": true, "madvise": true, "mprotect": true, "sched_yield": true, "gettid": true,
	"tgkill": true, "getpid": true, "sched_getaffinity": true, "set_robust_list": true, "rseq": true, "exit_group": true,
	"eventfd2": true, "prlimit64": true, "arch_prctl": true, "prctl": true,
}

// parseStraceSummary returns the first k rows of strace -c's table as
// "name pct% (calls calls)", leaving out the Go runtime's own syscalls.
func parseStraceSummary(r interface{ Read([]byte) (int, error) }, k int) []string {
	sc := bufio.NewScanner(r)
	var rows []string
	dashes := 0
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "------") {
			dashes++
			if dashes == 2 {
				break
			}
			continue
		}
		if dashes != 1 {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 5 || runtimeSyscalls[f[len(f)-1]] {
			continue
		}
		rows = append(rows, fmt.Sprintf("%s %s%% (%s calls)", f[len(f)-1], f[0], f[3]))
		if len(rows) == k {
			break
		}
	}
	return rows
}
