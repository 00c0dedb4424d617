package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The test binary is re-executed as the load worker and the heap holder,
// as the bench binary is.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		workerMain()
		os.Exit(0)
	}
	if os.Getenv(heapEnv) != "" {
		holdHeap()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStateDirs: every check the harness runs that keeps rates (has
// --state-dir: check_numa, check_nginx_queue, check_conntrack...) gets the
// harness's own --state-dir, so a bench run never writes the host's
// /var/lib/opschecks.
func TestStateDirs(t *testing.T) {
	keeps := map[string]bool{}
	for _, c := range testenv.AllChecks(t) {
		for _, o := range c.Doc.Options {
			if o.Long == "state-dir" {
				keeps[c.Name] = true
			}
		}
	}
	if len(keeps) == 0 {
		t.Fatal("no check has --state-dir")
	}
	for _, tg := range targets() {
		if keeps[tg.Bin] && !slices.Contains(tg.Args, "--state-dir") {
			t.Errorf("%s runs without --state-dir", tg.Key)
		}
	}
}

// TestSmoke runs the whole harness with N = 0 and 1000: real load in a
// namespace, every check under cmd/ built and run with the harness's
// command lines, the real peers, FerretDB. It proves the load is what the
// results claim, the peak RSS is the child's own, every check accepts the
// options the harness gives it, and the results file round-trips.
func TestSmoke(t *testing.T) {
	testenv.Require(t, "root", "ss", "check_dummy")
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig(true)
	cfg.Root = root
	start := time.Now()
	rep, err := run(cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Logf("smoke run took %s", time.Since(start))

	if len(rep.Levels) != 2 {
		t.Fatalf("levels measured: %+v, want N=0 and N=1000", rep.Levels)
	}
	base, loaded := rep.Levels[0].Census, rep.Levels[1].Census
	if got := loaded.Established - base.Established; got != 2*1000 {
		t.Errorf("ESTABLISHED sockets added by 1000 connections: %d, want 2000 (both ends)", got)
	}
	if loaded.QueueLen != queueBacklog+1 || loaded.QueueMax != queueBacklog {
		t.Errorf("full accept queue: %d/%d, want %d/%d", loaded.QueueLen, loaded.QueueMax, queueBacklog+1, queueBacklog)
	}
	if !strings.Contains(rep.Teardown, "; 0 ESTABLISHED sockets left") {
		t.Errorf("teardown left sockets: %s", rep.Teardown)
	}

	self, err := readHWM(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1000} {
		m := rep.get(peerDummy, n)
		if m == nil || !m.Valid() {
			t.Fatalf("check_dummy not measured at N=%d: %+v", n, m)
		}
		if len(m.Runs) < cfg.MinRuns || m.Median() <= 0 || m.CPU() <= 0 {
			t.Errorf("check_dummy at N=%d: %d runs, median %s, CPU %s", n, len(m.Runs), m.Median(), m.CPU())
		}
		// check_dummy's own peak is under 2 MiB; the harness's (which
		// ru_maxrss would have reported) is far more.
		if m.RSSKB <= 0 || m.RSSKB > 8*1024 || m.RSSKB >= self {
			t.Errorf("check_dummy peak RSS %d kB (harness %d kB): not the child's own", m.RSSKB, self)
		}
		for _, k := range []string{peerLtn, peerTno, peerTni} {
			if p := rep.get(k, n); p == nil || !p.Valid() {
				t.Errorf("%s not measured at N=%d", k, n)
			}
		}
	}

	// Every check that exists must build and accept the harness's options.
	built := map[string]bool{}
	for _, tg := range rep.Targets {
		if !tg.Check {
			continue
		}
		built[tg.Bin] = true
		m := rep.get(tg.Key, 0)
		if m == nil {
			t.Errorf("%s: not measured at N=0", tg.Key)
			continue
		}
		if !m.Valid() {
			t.Errorf("%s: %s", tg.Key, invalidWhy(m))
		}
	}
	var missingFerret string
	for _, s := range rep.Skipped {
		switch {
		case strings.Contains(s.Why, "does not build"):
			t.Errorf("%s %s", s.Key, s.Why)
		case strings.Contains(s.Why, "FerretDB"):
			missingFerret = s.Why
		}
	}

	md := rep.Markdown(nil)
	for _, want := range []string{"**Machine:** Linux", "cores", "| check | N | median wall", "## Targets", "## Cost vs N", dataMarker} {
		if !strings.Contains(md, want) {
			t.Errorf("RESULTS.md lacks %q", want)
		}
	}
	prev, err := parsePrev([]byte(md))
	if err != nil || prev == nil || len(prev.Rows) == 0 {
		t.Fatalf("data block does not round-trip: %v %+v", err, prev)
	}
	again := rep.Markdown([]byte(md))
	if !strings.Contains(again, "previous run ("+prev.When+")") || !strings.Contains(again, "(now +0%)") {
		t.Errorf("second rendering does not show the previous numbers beside the new ones")
	}
	if missingFerret != "" {
		testenv.Missing(t, "%s", missingFerret)
	}
}

func TestParseStraceSummary(t *testing.T) {
	f, err := os.Open("testdata/strace-c.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := parseStraceSummary(f, 2)
	want := []string{"sendmsg 8.73% (2 calls)", "execve 2.02% (1 calls)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, in := range []string{"", "garbage\n", "------\n"} {
		if rows := parseStraceSummary(strings.NewReader(in), 4); len(rows) != 0 {
			t.Errorf("%q: got %q, want nothing", in, rows)
		}
	}
}

func FuzzParseStraceSummary(f *testing.F) {
	b, _ := os.ReadFile("testdata/strace-c.txt")
	f.Add(string(b))
	f.Add("------\n1 2 3 4 x\n------\n")
	f.Fuzz(func(t *testing.T, s string) {
		if rows := parseStraceSummary(strings.NewReader(s), 4); len(rows) > 4 {
			t.Fatalf("%d rows, asked for 4", len(rows))
		}
	})
}

func FuzzParsePrev(f *testing.F) {
	f.Add(dataMarker + `{"when":"x","rows":[{"key":"a","n":1,"wall_ms":1.5,"cpu_ms":1,"rss_kb":3}]} -->`)
	f.Add(dataMarker + "{")
	f.Add("no block")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parsePrev([]byte(s))
	})
}

func TestParsePrev(t *testing.T) {
	for _, tc := range []struct {
		in      string
		rows    int
		wantErr bool
	}{
		{"no data block at all", 0, false},
		{"x\n" + dataMarker + `{"when":"w","rows":[{"key":"check_dummy 0 bench","n":0,"wall_ms":0.8,"cpu_ms":0.6,"rss_kb":1700}]} -->` + "\n", 1, false},
		{dataMarker + `{"when":"w","rows":[]}`, 0, true},
		{dataMarker + `not json -->`, 0, true},
	} {
		d, err := parsePrev([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if d != nil && len(d.Rows) != tc.rows {
			t.Errorf("%q: %d rows, want %d", tc.in, len(d.Rows), tc.rows)
		}
	}
}

func runs(walls ...time.Duration) []outcome {
	o := make([]outcome, len(walls))
	for i, w := range walls {
		o[i] = outcome{Wall: w, User: w / 2}
	}
	return o
}

// TestJudge checks the verdicts on made-up measurements.
func TestJudge(t *testing.T) {
	dummy := &target{Key: peerDummy}
	chk := &target{Key: "check_x", Check: true, Peer: peerDummy}
	mongo := &target{Key: "check_mongodb", Check: true}
	for _, tc := range []struct {
		name   string
		t      *target
		r      rule
		m      meas
		status string
	}{
		{"within 3x", chk, ruleLocal, meas{Runs: runs(2*time.Millisecond, 3*time.Millisecond, 2900*time.Microsecond), RSSKB: 4096}, "PASS"},
		{"over 3x", chk, ruleLocal, meas{Runs: runs(4 * time.Millisecond), RSSKB: 4096}, "MISS"},
		{"RSS too big", chk, ruleLocal, meas{Runs: runs(time.Millisecond), RSSKB: 15 * 1024}, "MISS"},
		{"UNKNOWN answer", chk, ruleLocal, meas{Runs: runs(time.Millisecond), Code: 3}, "INVALID"},
		{"failed to start", chk, ruleLocal, meas{Err: "no such file"}, "INVALID"},
		{"mongo fast", mongo, ruleMongo, meas{Runs: runs(6 * time.Millisecond), RSSKB: 10000}, "PASS"},
		{"mongo slow", mongo, ruleMongo, meas{Runs: runs(15 * time.Millisecond), RSSKB: 10000}, "MISS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Meas: map[string]map[int]*meas{
				peerDummy: {0: {T: dummy, Runs: runs(time.Millisecond)}},
			}}
			m := tc.m
			m.T = tc.t
			v := rep.judge(tc.t, tc.r, &m)
			if v.Status != tc.status {
				t.Errorf("status %s (%s), want %s", v.Status, v.Detail, tc.status)
			}
		})
	}
}

func TestMedianMinMax(t *testing.T) {
	d := []time.Duration{5, 1, 3, 2, 4}
	if median(d) != 3 || median(d[:4]) != 2 || median(nil) != 0 {
		t.Errorf("median wrong: %d %d", median(d), median(d[:4]))
	}
	if lo, hi := minMax(d); lo != 1 || hi != 5 {
		t.Errorf("minMax = %d, %d", lo, hi)
	}
}

func TestSummarizeInitTrace(t *testing.T) {
	b, err := os.ReadFile("testdata/inittrace.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := summarizeInitTrace(string(b)+"KEEPALIVE OK - not an init line\n", 2)
	want := "package init 0.42 ms in 30 packages (most: github.com/opschecks/opschecks/thresholds 0.10 ms, internal/godebug 0.09 ms)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if s := summarizeInitTrace("no trace\n", 3); s != "" {
		t.Errorf("no trace: got %q", s)
	}
}

// TestBuildChecks builds a module with one good and one broken check: the
// good one is built, the broken one is reported with the compiler's line.
func TestBuildChecks(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(root+"/"+name[:strings.LastIndex(name, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+"/"+name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go/go.mod", "module example.com/m\n\ngo 1.22\n")
	root += "/go"
	write("cmd/check_good/main.go", "package main\n\nfunc main() {}\n")
	write("cmd/check_bad/main.go", "package main\n\nfunc main() { undefinedThing() }\n")
	write("cmd/check_empty/README", "no main.go here yet\n")
	bins, skips := buildChecks(root, t.TempDir())
	if _, ok := bins["check_good"]; !ok || len(bins) != 1 {
		t.Errorf("built %v, want check_good only", bins)
	}
	if len(skips) != 1 || skips[0].Key != "check_bad" || !strings.Contains(skips[0].Why, "does not build") || !strings.Contains(skips[0].Why, "undefinedThing") {
		t.Errorf("skips = %+v, want check_bad with the compiler's message", skips)
	}
}

// TestMarkdownNotMeasured: whatever could not be measured is listed as such.
func TestMarkdownNotMeasured(t *testing.T) {
	rep := &Report{Cfg: defaultConfig(true), Started: time.Now(), Machine: machineLine(), Meas: map[string]map[int]*meas{},
		Skipped: []skipped{{"check_numa", "cmd/check_numa does not exist yet"}}}
	md := rep.Markdown(nil)
	if !strings.Contains(md, "| `check_numa` | — | cmd/check_numa does not exist yet | **NOT MEASURED** |") {
		t.Errorf("not-measured line missing:\n%s", md)
	}
	if !strings.Contains(md, "cores") {
		t.Errorf("machine line missing")
	}
}

// TestGrowth: a check whose cost grows with N beyond flatLimit is not flat.
func TestGrowth(t *testing.T) {
	chk := &target{Key: "check_x", Check: true, Flat: true}
	for _, tc := range []struct {
		at0, atMax time.Duration
		flat       bool
	}{
		{2 * time.Millisecond, 2900 * time.Microsecond, true},
		{2 * time.Millisecond, 3100 * time.Microsecond, false},
	} {
		rep := &Report{Levels: []levelInfo{{N: 0}, {N: 100000}}, Meas: map[string]map[int]*meas{
			chk.Key: {0: {T: chk, Runs: runs(tc.at0)}, 100000: {T: chk, Runs: runs(tc.atMax)}},
		}}
		g, flat, ok := rep.growth(chk)
		if !ok || flat != tc.flat {
			t.Errorf("%s -> %s: growth %.2fx flat %v ok %v, want flat %v", tc.at0, tc.atMax, g, flat, ok, tc.flat)
		}
	}
}
