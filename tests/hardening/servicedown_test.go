package hardening

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestServiceDown: every check that watches a process gives the same
// state, CRITICAL, on one line, when the service it is told to watch is
// not running: a pid file naming a process that exited, a pid file that
// does not exist, a --pid that does not run, a --process that matches
// nothing (internal/target's policy; README "Which process a check
// watches").
func TestServiceDown(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(gone.ProcessState.Pid())
	dir := t.TempDir()
	stale, missing := filepath.Join(dir, "stale.pid"), filepath.Join(dir, "missing.pid")
	if err := os.WriteFile(stale, []byte(dead+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("ocdown%d", os.Getpid())
	cases := []struct {
		opt, name string
		args      []string
		want      string
	}{
		{"pidfile", "dead pid file", []string{"--pidfile", stale}, fmt.Sprintf("pid file %s names PID %s, which is not running: the service is down (or it left a stale pid file)", stale, dead)},
		{"pidfile", "missing pid file", []string{"--pidfile", missing}, fmt.Sprintf("pid file %s does not exist: the service is not running (or this is not its pid file)", missing)},
		{"pid", "pid not running", []string{"--pid", dead}, fmt.Sprintf("no process with PID %s is running", dead)},
		{"process", "no such process", []string{"--process", name}, fmt.Sprintf("no process named %q is running", name)},
	}
	checked := map[string]int{}
	for _, b := range allBinaries(t) {
		for _, c := range cases {
			if !b.has(c.opt) {
				continue
			}
			checked[c.name]++
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				args := c.args
				if b.has("state-dir") {
					args = append([]string{"--state-dir", t.TempDir()}, args...)
				}
				r := testenv.RunCheck(t, b.path, nil, args...)
				st := testenv.AssertContract(t, b.doc.Label, r)
				if st != "CRITICAL" || r.FirstLine() != b.doc.Label+" CRITICAL - "+c.want || strings.Count(r.Stdout, "\n") != 1 {
					t.Errorf("%q: %q, want one line %q", c.args, r.Stdout, b.doc.Label+" CRITICAL - "+c.want)
				}
			})
		}
	}
	// nginx, numa and keepalive take all three options.
	for _, c := range cases {
		if checked[c.name] < 3 {
			t.Errorf("%s: only %d checks take --%s", c.name, checked[c.name], c.opt)
		}
	}
}
