package packaging_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// checkNames lists the binaries of the repository: cmd/check_*.
func checkNames(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(t), "cmd", "check_*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		if gos, _ := filepath.Glob(filepath.Join(d, "*.go")); len(gos) > 0 {
			names = append(names, filepath.Base(d))
		}
	}
	if len(names) == 0 {
		t.Fatal("no cmd/check_* in the repository")
	}
	sort.Strings(names)
	return names
}

// buildAll builds every check (testenv's shared build directory) and
// returns the directory holding them.
func buildAll(t *testing.T) string {
	t.Helper()
	var dir string
	for _, n := range checkNames(t) {
		dir = filepath.Dir(testenv.BuildCheck(t, n))
	}
	return dir
}

func checkDoc(t *testing.T, bin string) plugin.CheckDoc {
	t.Helper()
	r := testenv.RunCheck(t, bin, nil, "--emit-options-json")
	if r.Code != 3 {
		t.Fatalf("%s --emit-options-json: exit %d, want 3", bin, r.Code)
	}
	var d plugin.CheckDoc
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil {
		t.Fatalf("%s --emit-options-json: %v", bin, err)
	}
	return d
}

// result is a plugin answer split the way Nagios stores it.
type result struct {
	Code   int
	Output string   // first line, before '|'
	Perf   string   // perfdata
	Long   []string // further lines, trimmed, empty ones dropped
}

var stateNames = []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func parseOutput(code int, stdout string) result {
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	r := result{Code: code}
	first, perf, _ := strings.Cut(lines[0], "|")
	r.Output = strings.TrimSpace(first)
	r.Perf = normalizePerf(perf)
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" {
			r.Long = append(r.Long, l)
		}
	}
	return r
}

// normalizePerf drops the quotes around labels (Icinga 2 does) and the
// surrounding space, so perfdata from every source compares.
func normalizePerf(p string) string {
	f := strings.Fields(p)
	for i, m := range f {
		if strings.HasPrefix(m, "'") {
			if j := strings.Index(m[1:], "'"); j >= 0 {
				f[i] = m[1:j+1] + m[j+2:]
			}
		}
	}
	return strings.Join(f, " ")
}

var number = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// fuzzy replaces numbers with '#', for values that legitimately move
// between two runs (free memory, counters).
func (r result) fuzzy() result {
	n := func(s string) string { return number.ReplaceAllString(s, "#") }
	f := result{Code: r.Code, Output: n(r.Output), Perf: n(r.Perf)}
	for _, l := range r.Long {
		f.Long = append(f.Long, n(l))
	}
	return f
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n  output: %s\n  perf:   %s\n  long:   %q", r.Code, r.Output, r.Perf, r.Long)
}

func equal(a, b result) bool {
	return a.Code == b.Code && a.Output == b.Output && a.Perf == b.Perf && strings.Join(a.Long, "\n") == strings.Join(b.Long, "\n")
}

// sameAsByHand compares what a daemon recorded with runs of the binary by
// hand just before and after: exactly when the two hand runs agree (the
// check is deterministic here), otherwise with numbers masked, and the
// state must always be one of the hand runs' states.
func sameAsByHand(t *testing.T, what string, got, before, after result) {
	t.Helper()
	if got.Code != before.Code && got.Code != after.Code {
		t.Errorf("%s: state %s, by hand %s/%s\n got: %v\n by hand: %v", what, stateNames[got.Code%4], stateNames[before.Code%4], stateNames[after.Code%4], got, before)
		return
	}
	if equal(before, after) {
		if !equal(got, before) {
			t.Errorf("%s differs from the binary run by hand\n got:     %v\n by hand: %v", what, got, before)
		}
		return
	}
	if !equal(got.fuzzy(), before.fuzzy()) && !equal(got.fuzzy(), after.fuzzy()) {
		t.Errorf("%s differs from the binary run by hand (numbers masked)\n got:     %v\n by hand: %v", what, got.fuzzy(), before.fuzzy())
	}
}

// runAs runs a command line (already split) as the given user (nil: as
// we are), bounded in time.
func runAs(t *testing.T, cred *syscall.Credential, argv []string) result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return runCmd(t, argv, cmd)
}

// runIn runs a command line inside a network namespace, as the given
// user (nil: as we are).
func runIn(t *testing.T, ns *testenv.Netns, cred *syscall.Credential, argv []string) result {
	t.Helper()
	if cred == nil {
		return runCmd(t, argv, ns.Command(argv[0], argv[1:]...))
	}
	return runCmd(t, argv, ns.CommandAs(cred.Uid, cred.Gid, argv[0], argv[1:]...))
}

func runCmd(t *testing.T, argv []string, cmd *exec.Cmd) result {
	t.Helper()
	cmd.Dir = "/"
	r := testenv.RunCmd(t, cmd)
	if r.Stderr != "" {
		t.Errorf("%q wrote to stderr: %s", argv, r.Stderr)
	}
	return parseOutput(r.Code, r.Stdout)
}

// splitWords splits a command line the way /bin/sh does for the plain
// words and single quotes our generated definitions use.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, in = true, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case strings.ContainsRune("\"\\$`;&|<>(){}*?", rune(c)):
			return nil, fmt.Errorf("unexpected shell character %q in %q", c, s)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// nrpeCommands reads the command[name]=line entries of an NRPE snippet.
func nrpeCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^command\[([A-Za-z0-9_]+)\]=(.+)$`)
	cmds := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			cmds[m[1]] = m[2]
		}
	}
	return cmds
}

// daemon is a process the test started in its own process group; Stop
// kills the whole group (TERM, then KILL) and waits.
type daemon struct {
	cmd  *exec.Cmd
	done chan error
	once sync.Once
	log  *os.File
}

func startDaemon(t *testing.T, logPath string, name string, args ...string) *daemon {
	t.Helper()
	return startDaemonCmd(t, logPath, exec.Command(name, args...))
}

// startDaemonCmd starts a prepared command (inside a namespace) as a
// daemon.
func startDaemonCmd(t *testing.T, logPath string, cmd *exec.Cmd) *daemon {
	t.Helper()
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	name := cmd.Path
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	d := &daemon{cmd: cmd, done: make(chan error, 1), log: lf}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(d.Stop)
	return d
}

func (d *daemon) Stop() {
	d.once.Do(func() {
		pg := -d.cmd.Process.Pid
		_ = syscall.Kill(pg, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pg, syscall.SIGKILL)
			<-d.done
		}
		// Children that left the group are not ours to hunt; daemons
		// here stay in it. Kill stragglers of the group anyway.
		_ = syscall.Kill(pg, syscall.SIGKILL)
		d.log.Close()
	})
}

// exited reports whether the daemon has already ended.
func (d *daemon) exited() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return true
	default:
		return false
	}
}

func readLog(p string) string {
	b, _ := os.ReadFile(p)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
