package docs

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// An example is how the README's output of one command line is made for
// real. The README line is run as written, with only the names a test
// cannot have replaced (db1 is a loopback port, /run/nginx.pid the pid
// file of the test's nginx), by the scenario's start, and the output is
// shown with the README's names. `go test ./tests/docs -update` writes
// the outputs into the README; without it they are compared, except for
// what changes from run to run (times, rates, PIDs, namespace inodes: the
// example's volatile patterns).
type example struct {
	start    func(t *testing.T, l *lab, r *exampleRun)
	volatile []string
}

// exampleRun is one run of an example: the README's arguments, which
// start rewrites, and what start says about where and how it runs.
type exampleRun struct {
	t     *testing.T
	args  []string
	env   []string
	netns *testenv.Netns // run inside this namespace; nil: the test's own
	user  *[2]uint32     // run as this uid and gid; nil: as the test (root)
	names []string       // pairs: a real name, the README's
	// before, when set, makes the check run once first (a rate's
	// baseline) and is called between that run and the shown one.
	before func()
}

// host replaces a -H NAME of the README with the address and port of a
// server the test started.
func (r *exampleRun) host(name, addr string) {
	h, port, _ := strings.Cut(addr, ":")
	for i := 0; i+1 < len(r.args); i++ {
		if (r.args[i] == "-H" || r.args[i] == "--host") && r.args[i+1] == name {
			r.args[i+1] = h
			if !slices.Contains(r.args, "-P") && !slices.Contains(r.args, "--port") {
				r.args = slices.Insert(r.args, i+2, "-P", port)
			}
			return
		}
	}
	r.t.Fatalf("the README's command line %q has no -H %s", r.args, name)
}

// replace replaces a README argument (or a part of one, such as the host
// list of a URI) with the test's.
func (r *exampleRun) replace(old, real string) {
	found := false
	for i, a := range r.args {
		if strings.Contains(a, old) {
			r.args[i] = strings.ReplaceAll(a, old, real)
			found = true
		}
	}
	if !found {
		r.t.Fatalf("the README's command line %q has no %s", r.args, old)
	}
}

// stateDir keeps the check's state files in a directory of the test:
// the README's --state-dir is replaced, or one is added (a check that
// keeps rates writes /var/lib/opschecks by default, which a test must
// not touch).
func (r *exampleRun) stateDir(t *testing.T) {
	dir := t.TempDir()
	if i := slices.Index(r.args, "--state-dir"); i >= 0 && i+1 < len(r.args) {
		r.args[i+1] = dir
		return
	}
	r.args = append(r.args, "--state-dir", dir)
}

// name shows a real name of the output as the README names it.
func (r *exampleRun) name(real, readme string) { r.names = append(r.names, real, readme) }

// lab holds the components the examples share for the length of the
// test.
type lab struct {
	t    *testing.T
	mu   sync.Mutex
	made map[string]any
}

// once starts a shared component the first time it is asked for.
func once[T any](l *lab, key string, start func(t *testing.T) T) T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.made[key]; ok {
		return v.(T)
	}
	v := start(l.t)
	l.made[key] = v
	return v
}

// examples are the README's outputs by their command line as the README
// writes it (comment included, spaces collapsed).
var examples = map[string]example{}

func exampleKey(cmd string) string { return strings.Join(strings.Fields(cmd), " ") }

// register adds examples; each examples_*.go file registers its own.
func register(m map[string]example) {
	for k, e := range m {
		if _, dup := examples[exampleKey(k)]; dup {
			panic("two examples for " + k)
		}
		examples[exampleKey(k)] = e
	}
}

// pluginLine is the start of a plugin's first line.
var pluginLine = regexp.MustCompile(`^[A-Z][A-Z_]* (OK|WARNING|CRITICAL|UNKNOWN) - `)

// normalize replaces the volatile parts of an output with "~", so runs
// compare by everything else.
func normalize(out string, volatile []string) string {
	for _, v := range volatile {
		out = regexp.MustCompile(v).ReplaceAllString(out, "~")
	}
	return out
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestREADMEOutputs: every output the README shows under a "$ " command
// line is what that command prints in a scenario that makes it happen for
// real, and every scenario here belongs to a README example.
func TestREADMEOutputs(t *testing.T) {
	w := theBinaries(t)
	text, units := w.readme(t)
	lines := strings.Split(text, "\n")
	l := &lab{t: t, made: map[string]any{}}
	used := map[string]bool{}
	type rewrite struct {
		at, n int // first README line (0-based) and count replaced
		out   []string
	}
	var rewrites []rewrite
	var printed []string // every example's output, with the README's names
	started := 0         // examples run: when fewer printed (one stopped early), the quotes below are not judged
	for _, u := range units {
		if len(u.output) == 0 || u.prose || u.span {
			continue
		}
		key := exampleKey(u.text)
		used[key] = true
		ex, ok := examples[key]
		if !ok {
			t.Errorf("%s: the README shows what `%s` prints, and no scenario in tests/docs makes it happen: add one (examples_*.go), or show the command without its output", u.src, u.text)
			continue
		}
		invs, _ := w.invocations(u, nil)
		if len(invs) != 1 {
			t.Errorf("%s: `%s` is not one command line of a check", u.src, u.text)
			continue
		}
		inv := invs[0]
		started++
		t.Run(strings.TrimPrefix(u.src, "README.md:"), func(t *testing.T) {
			r := &exampleRun{t: t, args: slices.Clone(inv.args)}
			ex.start(t, l, r)
			run := func() testenv.Run {
				var cmd *exec.Cmd
				switch {
				case r.netns != nil && r.user != nil:
					cmd = r.netns.CommandAs(r.user[0], r.user[1], inv.bin.path, r.args...)
				case r.netns != nil:
					cmd = r.netns.Command(inv.bin.path, r.args...)
				default:
					cmd = exec.Command(inv.bin.path, r.args...)
					if r.user != nil {
						cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.user[0], Gid: r.user[1]}}
					}
				}
				cmd.Env = append(os.Environ(), r.env...)
				return testenv.RunCmd(t, cmd)
			}
			if r.before != nil {
				run()
				r.before()
			}
			res := run()
			testenv.AssertContract(t, inv.bin.doc.Label, res)
			got := strings.TrimRight(strings.NewReplacer(r.names...).Replace(res.Stdout), "\n")
			want := strings.Join(u.output, "\n")
			printed = append(printed, got)
			if updating() {
				rewrites = append(rewrites, rewrite{u.outAt - 1, len(u.output), strings.Split(got, "\n")})
				return
			}
			if normalize(got, ex.volatile) != normalize(want, ex.volatile) {
				t.Errorf("%s: the README shows\n%s\n\n`%s %s` prints (README names)\n%s\n\nrun go test ./tests/docs -run TestREADMEOutputs -update to write it into the README",
					u.src, want, inv.bin.name, shellQuote(r.args), got)
			}
		})
	}
	// A plugin line quoted in the text is one of those outputs (or the
	// start of one, where it ends with "..."), when every example printed
	// (one that stopped early failed, or, by hand, lacked a prerequisite).
	for _, u := range units {
		if len(printed) < started || !u.span || !pluginLine.MatchString(u.text) || strings.Contains(u.text, "<") {
			continue
		}
		quote := strings.TrimSuffix(u.text, "...")
		if !slices.ContainsFunc(printed, func(out string) bool { return strings.Contains(out, quote) }) {
			t.Errorf("%s: the README quotes `%s`, which no example's real run printed: show it as an example with its scenario (examples_*.go)", u.src, u.text)
		}
	}
	for k := range examples {
		if !used[k] {
			t.Errorf("scenario for `%s`: no README example shows this command line's output any more; remove the scenario", k)
		}
	}
	if len(rewrites) > 0 {
		sort.Slice(rewrites, func(i, j int) bool { return rewrites[i].at > rewrites[j].at })
		for _, rw := range rewrites {
			lines = slices.Replace(lines, rw.at, rw.at+rw.n, rw.out...)
		}
		if err := os.WriteFile(filepath.Join(w.root, "README.md"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d outputs into README.md", len(rewrites))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
