package hardening

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestParallelRunsShareState: many runs of one rate check at once, for
// two instances (two listening ports) sharing a --state-dir. The lock
// serialises the runs of an instance, so exactly one of them finds no
// previous sample; every run answers; each instance keeps one state file
// that decodes, and no temporary file is left behind.
func TestParallelRunsShareState(t *testing.T) {
	b := byName(t, "check_nginx_queue")
	dir := t.TempDir()
	var ports []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	const runs = 16
	results := make([][]testenv.Run, len(ports))
	var wg sync.WaitGroup
	for i, port := range ports {
		results[i] = make([]testenv.Run, runs)
		for j := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(b.path, "--port", port, "--state-dir", dir, "-t", "10")
				results[i][j] = testenv.RunCmd(t, cmd)
			}()
		}
	}
	wg.Wait()

	for i, port := range ports {
		baselines := 0
		for _, r := range results[i] {
			if st := testenv.AssertContract(t, b.doc.Label, r); st == "UNKNOWN" {
				t.Errorf("port %s: a parallel run gave UNKNOWN: %q", port, r.FirstLine())
			}
			if strings.Contains(r.FirstLine(), "listen drops: collecting baseline") {
				baselines++
			}
		}
		if baselines != 1 {
			t.Errorf("port %s: %d of %d parallel runs collected a baseline, want exactly 1", port, baselines, runs)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var states int
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".json"):
			states++
			b, err := os.ReadFile(f)
			if err != nil || !json.Valid(b) {
				t.Errorf("state file %s does not decode (%v): %q", f, err, b)
			}
		case strings.HasSuffix(f, ".json.lock"):
		default:
			t.Errorf("unexpected file left in the state directory: %s", f)
		}
	}
	if states != len(ports) {
		t.Errorf("%d state files for %d instances: %v", states, len(ports), files)
	}
}
