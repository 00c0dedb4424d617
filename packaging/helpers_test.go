package packaging_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// checkNames lists the repository's checks (testenv.AllChecks: every
// cmd/check_*, built once, with its options).
func checkNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, c := range testenv.AllChecks(t) {
		names = append(names, c.Name)
	}
	return names
}

// binDir is the directory of the built checks (testenv's shared build
// directory).
func binDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(testenv.AllChecks(t)[0].Path)
}

// docOf is the options and modes of a check, by name or by the path of
// its binary.
func docOf(t *testing.T, check string) plugin.CheckDoc {
	t.Helper()
	for _, c := range testenv.AllChecks(t) {
		if c.Name == filepath.Base(check) {
			return c.Doc
		}
	}
	t.Fatalf("%s is no check of the repository", check)
	return plugin.CheckDoc{}
}

// stateDirs holds each test's private state directory (privateState).
var stateDirs sync.Map

// privateState is the directory the checks a test runs by hand or through
// a daemon see as the packages' /var/lib/opschecks
// (testenv.PrivateStateDir): the shipped command lines run as they are and
// never write the host's directory. The nagios user owns it, for NRPE.
func privateState(t *testing.T) string {
	t.Helper()
	if d, ok := stateDirs.Load(t); ok {
		return d.(string)
	}
	dir := t.TempDir()
	if _, err := user.Lookup("nagios"); err == nil {
		dir = nagiosDir(t)
	}
	stateDirs.Store(t, dir)
	t.Cleanup(func() { stateDirs.Delete(t) })
	return dir
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
	full := argv
	if cred != nil {
		full = asUser(t, cred, argv)
	}
	return runCmd(t, argv, exec.Command(full[0], full[1:]...))
}

// asUser is argv run as the given user through setpriv, which works
// inside testenv.PrivateStateDir (a Credential would not).
func asUser(t *testing.T, cred *syscall.Credential, argv []string) []string {
	return append([]string{testenv.Binary(t, "setpriv"), fmt.Sprintf("--reuid=%d", cred.Uid), fmt.Sprintf("--regid=%d", cred.Gid), "--clear-groups", "--"}, argv...)
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

// runCmd runs cmd (argv names it in messages) with the test's private
// state directory (runPrivate) and splits its answer.
func runCmd(t *testing.T, argv []string, cmd *exec.Cmd) result {
	t.Helper()
	r := runPrivate(t, argv, cmd)
	return parseOutput(r.Code, r.Stdout)
}

// runPrivate runs cmd from / with the test's private state directory on
// /var/lib/opschecks (privateState); anything on stderr is an error.
func runPrivate(t *testing.T, argv []string, cmd *exec.Cmd) testenv.Run {
	t.Helper()
	cmd = testenv.PrivateStateDir(t, cmd, privateState(t))
	cmd.Dir = "/"
	r := testenv.RunCmd(t, cmd)
	if r.Stderr != "" {
		t.Errorf("%q wrote to stderr: %s", argv, r.Stderr)
	}
	return r
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
