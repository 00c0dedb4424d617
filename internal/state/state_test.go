package state

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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
	dir := filepath.Join(t.TempDir(), "state")
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
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
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
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
}

// Many concurrent runs of one instance each add 1 under the lock: none is
// lost, none double-counted, and the file always decodes.
func TestConcurrentRunsNeverCorrupt(t *testing.T) {
	dir := t.TempDir()
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
	dir := t.TempDir()
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

func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := &Counters{Time: t0, Values: map[string]float64{"drops": 10}}
	cases := []struct {
		name string
		prev *Counters
		cur  Counters
		ok   bool
		rate float64
	}{
		{"first run", nil, Counters{Time: t0, Values: map[string]float64{"drops": 1}}, false, 0},
		{"normal", prev, Counters{Time: t0.Add(10 * time.Second), Values: map[string]float64{"drops": 30}}, true, 2},
		{"no change", prev, Counters{Time: t0.Add(5 * time.Second), Values: map[string]float64{"drops": 10}}, true, 0},
		{"counter reset", prev, Counters{Time: t0.Add(10 * time.Second), Values: map[string]float64{"drops": 3}}, false, 0},
		{"clock backwards", prev, Counters{Time: t0.Add(-time.Hour), Values: map[string]float64{"drops": 30}}, false, 0},
		{"clock still", prev, Counters{Time: t0, Values: map[string]float64{"drops": 30}}, false, 0},
		{"new counter", prev, Counters{Time: t0.Add(time.Second), Values: map[string]float64{"other": 1}}, false, 0},
	}
	for _, tc := range cases {
		r, ok, note := Rates(tc.prev, tc.cur)
		if ok != tc.ok || (ok && r["drops"] != tc.rate) || (!ok && note == "") {
			t.Errorf("%s: rates %v ok %v note %q", tc.name, r, ok, note)
		}
		for k, v := range r {
			if v < 0 {
				t.Errorf("%s: negative rate %s=%v", tc.name, k, v)
			}
		}
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
	_, err := Open(filepath.Join(dir, "sub"), "k", time.Now().Add(time.Second))
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
	dir := t.TempDir()
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
	if err := os.WriteFile(filepath.Join(dir, key), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, found, note := run(&s{3}); found || !strings.Contains(note, "collecting a new baseline") {
		t.Fatalf("damaged file: found %v, note %q", found, note)
	}
	if prev, found, _ := run(nil); !found || prev.N != 3 {
		t.Fatalf("after re-baseline: %+v found %v, want N 3", prev, found)
	}
}
