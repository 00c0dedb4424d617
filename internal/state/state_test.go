package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/thresholds"
)

func TestKeyKeepsInstancesApart(t *testing.T) {
	keys := map[string]bool{}
	for _, parts := range [][]string{
		{"127.0.0.1:80"}, {"127.0.0.1:8080"}, {"127.0.0.1", "80"}, {"127.0.0.1:80", ""}, {"pid=1"}, {"pid=12"}, {"a/b"}, {"a_b"},
	} {
		k := Key("check_nginx_queue", parts...)
		if keys[k] {
			t.Errorf("key %q for %q collides", k, parts)
		}
		keys[k] = true
		if filepath.Base(k) != k || len(k) > 120 {
			t.Errorf("key %q is not a short plain file name", k)
		}
	}
	if Key("x", "same") != Key("x", "same") {
		t.Error("keys must be stable between runs")
	}
}

func TestSaveLoadModesAndGarbage(t *testing.T) {
	dir := Dir(filepath.Join(t.TempDir(), "state"))
	f, err := Open(dir, Key("t", "1"), time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c Counters
	if found, note, err := f.Load(&c); found || note != "" || err != nil {
		t.Fatalf("first load: %v %q %v", found, note, err)
	}
	want := Counters{Time: time.Unix(100, 0).UTC(), Values: map[string]float64{"a": 5}}
	if err := f.Save(want); err != nil {
		t.Fatal(err)
	}
	if found, _, err := f.Load(&c); !found || err != nil || c.Values["a"] != 5 || !c.Time.Equal(want.Time) {
		t.Fatalf("reload: %v %v %+v", found, err, c)
	}
	if st, _ := os.Stat(string(dir)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", st.Mode().Perm())
	}
	if st, _ := os.Stat(f.Path()); st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	for _, garbage := range []string{"", "{", "\x00\x01", `{"time":"yesterday"}`} {
		if err := os.WriteFile(f.Path(), []byte(garbage), 0o600); err != nil {
			t.Fatal(err)
		}
		found, note, err := f.Load(&c)
		if found || err != nil || note == "" {
			t.Errorf("garbage %q: found %v note %q err %v; want a re-baseline note", garbage, found, note, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(string(dir), ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
	// Written in place: a shorter state after a longer one leaves nothing
	// of the longer behind.
	long := Counters{Time: time.Unix(200, 0).UTC(), Of: "net:[4026531840]", Values: map[string]float64{"a": 123456789, "bbbbbbbb": 1}}
	short := Counters{Time: time.Unix(300, 0).UTC(), Values: map[string]float64{"a": 1}}
	for _, v := range []Counters{long, short} {
		if err := f.Save(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(f.Path())
	if err != nil || string(b) != `{"time":"1970-01-01T00:05:00Z","values":{"a":1}}` {
		t.Fatalf("after a shorter save the file holds %q (%v)", b, err)
	}
}

// Many concurrent runs of one instance each add 1 under the lock: none is
// lost, none double-counted, and the file always decodes.
func TestConcurrentRunsNeverCorrupt(t *testing.T) {
	dir := Dir(t.TempDir())
	key := Key("t", "concurrent")
	const runs = 64
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := Open(dir, key, time.Now().Add(20*time.Second))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			var c Counters
			if _, note, err := f.Load(&c); err != nil || note != "" {
				errs <- err
				return
			}
			if c.Values == nil {
				c.Values = map[string]float64{}
			}
			c.Values["n"]++
			errs <- f.Save(c)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	f, _ := Open(dir, key, time.Now().Add(time.Second))
	defer f.Close()
	var c Counters
	if _, _, err := f.Load(&c); err != nil || c.Values["n"] != runs {
		t.Fatalf("after %d runs: n=%v err=%v", runs, c.Values["n"], err)
	}
}

func TestLockTimesOut(t *testing.T) {
	dir := Dir(t.TempDir())
	a, err := Open(dir, "k", time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Now()
	if _, err := Open(dir, "k", time.Now().Add(200*time.Millisecond)); err == nil {
		t.Fatal("a second holder got the lock")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("waiting for the lock ignored the deadline")
	}
}

func TestSince(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := &Counters{Time: t0, Of: "net:[1]", Values: map[string]float64{"drops": 10}}
	at := func(d time.Duration, of string, v map[string]float64) Counters {
		return Counters{Time: t0.Add(d), Of: of, Values: v}
	}
	drops := func(v float64) map[string]float64 { return map[string]float64{"drops": v} }
	cases := []struct {
		name string
		prev *Counters
		cur  Counters
		rate float64 // -1: no rates
		note string
	}{
		{"first run", nil, at(0, "net:[1]", drops(1)), -1, "collecting baseline"},
		{"normal", prev, at(10*time.Second, "net:[1]", drops(30)), 2, ""},
		{"no change", prev, at(5*time.Second, "net:[1]", drops(10)), 0, ""},
		{"counter reset", prev, at(10*time.Second, "net:[1]", drops(3)), -1, "counter drops went backwards (restart or reboot)"},
		{"clock backwards", prev, at(-time.Hour, "net:[1]", drops(30)), -1, "the clock did not advance"},
		{"clock still", prev, at(0, "net:[1]", drops(30)), -1, "the clock did not advance"},
		{"new counter", prev, at(time.Second, "net:[1]", map[string]float64{"other": 1}), -1, "counter other is new"},
		{"other namespace", prev, at(10*time.Second, "net:[2]", drops(30)), -1, "the network namespace changed (net:[1] -> net:[2])"},
	}
	for _, tc := range cases {
		r := Since(tc.prev, tc.cur)
		_, why, ready := r.Pending()
		if ready != (tc.rate >= 0) || (ready && r.PerSecond["drops"] != tc.rate) || !strings.Contains(why, tc.note) || r.Note != why {
			t.Errorf("%s: %+v ready %v why %q; want rate %v note %q", tc.name, r, ready, why, tc.rate, tc.note)
		}
		for k, v := range r.PerSecond {
			if v < 0 {
				t.Errorf("%s: negative rate %s=%v", tc.name, k, v)
			}
		}
	}
}

// TestSampleAcrossRuns: the one rate helper over consecutive runs, with a
// counter that only ever grows while the process runs (mongod's uptime)
// turning a restart into a new baseline; a damaged file re-baselines; an
// unusable directory is the error Pending reports as UNKNOWN.
func TestSampleAcrossRuns(t *testing.T) {
	dir := Dir(filepath.Join(t.TempDir(), "state"))
	key := Key("check_test", "rates")
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	steps := []struct {
		at     time.Duration
		cur    map[string]float64
		note   string // "" when rates are ready
		insert float64
	}{
		{0, map[string]float64{"insert": 100, "uptime": 1000}, "collecting baseline", 0},
		{60 * time.Second, map[string]float64{"insert": 700, "uptime": 1060}, "", 10},
		{90 * time.Second, map[string]float64{"insert": 730, "uptime": 1090}, "", 1},
		// restarted: uptime went backwards although insert grew.
		{150 * time.Second, map[string]float64{"insert": 800, "uptime": 50}, "went backwards", 0},
		{160 * time.Second, map[string]float64{"insert": 850, "uptime": 60}, "", 5},
		{100 * time.Second, map[string]float64{"insert": 900, "uptime": 70}, "clock", 0},
	}
	for i, s := range steps {
		r := Sample(ctx, dir, key, Counters{Time: t0.Add(s.at), Values: s.cur})
		st, why, ready := r.Pending()
		if st != thresholds.OK || ready != (s.note == "") || !strings.Contains(why, s.note) {
			t.Fatalf("step %d: %+v: %v %q ready %v, want note %q", i, r, st, why, ready, s.note)
		}
		if ready && r.PerSecond["insert"] != s.insert {
			t.Errorf("step %d: insert rate %v, want %v", i, r.PerSecond["insert"], s.insert)
		}
	}
	file := filepath.Join(string(dir), key)
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v, mode want 0600", err)
	}
	if d, _ := os.Stat(string(dir)); d.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", d.Mode().Perm())
	}
	if err := os.WriteFile(file, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := Sample(ctx, dir, key, Counters{Time: t0, Values: map[string]float64{"insert": 1}}); r.Err != nil || r.PerSecond != nil || !strings.Contains(r.Note, "unreadable") {
		t.Errorf("damaged state: %+v", r)
	}
	// Below a regular file no directory can be made, even for root.
	r := Sample(ctx, Dir(filepath.Join(file, "sub")), key, Counters{Time: t0, Values: map[string]float64{"insert": 1}})
	if st, why, ready := r.Pending(); st != thresholds.Unknown || ready || !strings.Contains(why, "cannot create state directory "+file+"/sub") {
		t.Errorf("unusable state dir: %v %q ready %v", st, why, ready)
	}
}

// TestDirOption: an empty --state-dir is refused when parsed.
func TestDirOption(t *testing.T) {
	var d Dir
	for _, bad := range []string{"", "  "} {
		if err := d.UnmarshalFlag(bad); err == nil || !strings.Contains(err.Error(), `invalid --state-dir "`) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := d.UnmarshalFlag("/var/lib/x"); err != nil || d != "/var/lib/x" {
		t.Errorf("a directory: %q %v", d, err)
	}
}

func TestUnwritableDirNamesThePrivilege(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; the unprivileged case is covered by the
		// cross-binary privilege tests, which run as a created user.
		_, err := Open("/proc/opschecks-state", "k", time.Now().Add(time.Second))
		if err == nil {
			t.Fatal("a state dir under /proc was created")
		}
		return
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o500)
	_, err := Open(Dir(filepath.Join(dir, "sub")), "k", time.Now().Add(time.Second))
	if err == nil || !contains(err.Error(), "permission denied", "--state-dir") {
		t.Fatalf("err = %v", err)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestUpdate: the first run sees nothing and saves; the next sees what was
// saved; nil leaves the file alone; a damaged file is a note, not an error.
func TestUpdate(t *testing.T) {
	dir := Dir(t.TempDir())
	key := Key("t", "update")
	deadline := time.Now().Add(time.Second)
	type s struct{ N int }
	run := func(save *s) (prev s, found bool, note string) {
		t.Helper()
		err := Update(dir, key, deadline, func(p *s, f bool, n string) *s {
			prev, found, note = *p, f, n
			return save
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, found, note := run(&s{1}); found || note != "" {
		t.Fatalf("first run: found %v, note %q", found, note)
	}
	if prev, found, _ := run(nil); !found || prev.N != 1 {
		t.Fatalf("second run: %+v found %v, want N 1", prev, found)
	}
	if prev, found, _ := run(&s{2}); !found || prev.N != 1 {
		t.Fatalf("after a nil save: %+v found %v, want N 1 still", prev, found)
	}
	if prev, _, _ := run(nil); prev.N != 2 {
		t.Fatalf("saved 2, read %+v", prev)
	}
	if err := os.WriteFile(filepath.Join(string(dir), key), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, found, note := run(&s{3}); found || !strings.Contains(note, "collecting a new baseline") {
		t.Fatalf("damaged file: found %v, note %q", found, note)
	}
	if prev, found, _ := run(nil); !found || prev.N != 3 {
		t.Fatalf("after re-baseline: %+v found %v, want N 3", prev, found)
	}
}
