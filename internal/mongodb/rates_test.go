package mongodb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSampleRatesAcrossRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	key := "check_mongodb-opcounters-test.json"
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	dl := time.Now().Add(5 * time.Second)
	steps := []struct {
		at     time.Duration
		cur    map[string]float64
		ok     bool
		note   string
		insert float64
	}{
		{0, map[string]float64{"insert": 100, "_uptime": 1000}, false, "collecting baseline", 0},
		{60 * time.Second, map[string]float64{"insert": 700, "_uptime": 1060}, true, "", 10},
		{90 * time.Second, map[string]float64{"insert": 730, "_uptime": 1090}, true, "", 1},
		// mongod restarted: uptime went backwards although insert grew.
		{150 * time.Second, map[string]float64{"insert": 800, "_uptime": 50}, false, "went backwards", 0},
		{160 * time.Second, map[string]float64{"insert": 850, "_uptime": 60}, true, "", 5},
		// The clock went backwards.
		{100 * time.Second, map[string]float64{"insert": 900, "_uptime": 70}, false, "clock", 0},
	}
	for i, s := range steps {
		rates, ok, note, err := sampleRates(dir, key, s.cur, t0.Add(s.at), dl)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ok != s.ok || !strings.Contains(note, s.note) {
			t.Fatalf("step %d: ok %v note %q, want %v %q", i, ok, note, s.ok, s.note)
		}
		if ok && rates["insert"] != s.insert {
			t.Errorf("step %d: insert rate %v, want %v", i, rates["insert"], s.insert)
		}
		if _, has := rates["_uptime"]; has {
			t.Errorf("step %d: the uptime leaked into the rates", i)
		}
	}
	st, err := os.Stat(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", st.Mode().Perm())
	}
	if d, _ := os.Stat(dir); d.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", d.Mode().Perm())
	}
	// A damaged file re-baselines instead of failing.
	if err := os.WriteFile(filepath.Join(dir, key), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, note, err := sampleRates(dir, key, map[string]float64{"insert": 1}, t0, dl)
	if err != nil || ok || !strings.Contains(note, "unreadable") {
		t.Errorf("damaged state: ok %v note %q err %v", ok, note, err)
	}
	// An unwritable state directory names the fix.
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := sampleRates(ro, key, map[string]float64{"insert": 1}, t0, dl); err == nil || !strings.Contains(err.Error(), "--state-dir") {
			t.Errorf("read-only state dir: %v", err)
		}
	}
}
