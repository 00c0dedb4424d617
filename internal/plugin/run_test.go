package plugin_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// fake is the test check binary, built once for all the tests that run it
// and removed by TestMain.
var fake struct {
	once     sync.Once
	dir, bin string
	err      error
}

func buildFake(t *testing.T) string {
	t.Helper()
	fake.once.Do(func() {
		if fake.dir, fake.err = os.MkdirTemp("", "check_fake-"); fake.err != nil {
			return
		}
		fake.bin = filepath.Join(fake.dir, "check_fake")
		cmd := exec.Command("go", "build", "-ldflags",
			"-X github.com/opschecks/opschecks/internal/plugin.Version=1.2.3 -X github.com/opschecks/opschecks/internal/plugin.Commit=abc123",
			"-o", fake.bin, "./testdata/fakecheck")
		if out, err := cmd.CombinedOutput(); err != nil {
			fake.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if fake.err != nil {
		t.Fatalf("build: %v", fake.err)
	}
	return fake.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fake.dir != "" {
		os.RemoveAll(fake.dir)
	}
	os.Exit(code)
}

func TestBinaryContract(t *testing.T) {
	bin := buildFake(t)
	cases := []struct {
		name    string
		args    []string
		code    int
		contain string
		lines   int // 0: don't care
	}{
		{"ok", nil, 0, "FAKE OK - ", 0},
		{"warning", []string{"-w", "0.5"}, 1, "FAKE WARNING - ", 0},
		{"critical", []string{"--value", "95"}, 2, "FAKE CRITICAL - ", 0},
		{"negative range as argument", []string{"-w", "-5:-1", "-c", "~:", "--value", "-3"}, 0, "value=-3;-5:-1;~:\n", 0},
		{"plain threshold in perfdata", []string{"-w", "~:0.5", "-c", "0:90"}, 1, "| value=1;0.5;90;0\n", 0},
		{"unknown flag", []string{"--bogus"}, 3, "FAKE UNKNOWN - unknown flag bogus", 1},
		{"reversed range", []string{"-w", "5:1"}, 3, `FAKE UNKNOWN - invalid argument for flag -w, --warning: invalid range "5:1": start is greater than end`, 1},
		{"garbage range", []string{"-w", "abc"}, 3, `FAKE UNKNOWN - invalid argument for flag -w, --warning: invalid range "abc"`, 1},
		{"lone at", []string{"-c", "@"}, 3, `invalid range "@"`, 1},
		{"two colons", []string{"-c", "1:2:3"}, 3, `invalid range "1:2:3"`, 1},
		{"negative timeout", []string{"-t", "-3"}, 3, `FAKE UNKNOWN - invalid argument for flag -t, --timeout: invalid duration "-3": must be greater than zero`, 1},
		{"bad duration", []string{"-t", "soon"}, 3, `invalid duration "soon"`, 1},
		{"bad timeout state", []string{"--timeout-state", "warning"}, 3, `invalid --timeout-state "warning"`, 1},
		{"missing argument", []string{"-w"}, 3, "FAKE UNKNOWN - expected argument for flag", 1},
		{"stray argument", []string{"extra"}, 3, `unexpected argument "extra"`, 1},
		{"newline in argument", []string{"-w", "1\n2"}, 3, `invalid range "1\n2"`, 1},
		{"huge argument", []string{"-w", strings.Repeat("9", 100000)}, 3, `invalid range "9999999999999999999999999999999999999999..."`, 1},
		// Arguments are echoed: invalid bytes are repaired, multi-byte
		// characters are never cut in half (AssertContract checks UTF-8).
		{"invalid UTF-8 argument", []string{"-w", "1\xff\xfe2"}, 3, `invalid range "1\xff\xfe2"`, 1},
		{"huge multi-byte argument", []string{"-w", strings.Repeat("€", 30000)}, 3, `invalid range "` + strings.Repeat("€", 13) + `..."`, 1},
		{"huge multi-byte stray argument", []string{strings.Repeat("é", 60000)}, 3, `unexpected argument "` + strings.Repeat("é", 10), 1},
		{"panic", []string{"--behave", "panic"}, 3, "FAKE UNKNOWN - internal error: assignment to entry in nil map", 1},
		{"error", []string{"--behave", "error"}, 3, "FAKE UNKNOWN - cannot read /nonexistent: no such file", 1},
		{"verdict", []string{"--behave", "verdict"}, 2, "FAKE CRITICAL - nothing listens on 127.0.0.1:1", 1},
		{"duplicate perfdata", []string{"--behave", "dupperf"}, 3, `internal error: duplicate perfdata label "value"`, 1},
		{"bad choice", []string{"--behave", "fly"}, 3, `FAKE UNKNOWN - invalid --behave "fly": expected ok, hang, syscall, panic, error, verdict, ctx or dupperf (see check_fake --help)`, 1},
		{"bad choice after =", []string{"--behave=", "-w", "1"}, 3, `FAKE UNKNOWN - invalid --behave "": expected ok, hang,`, 1},
		{"bad choice short", []string{"-bfly"}, 3, `FAKE UNKNOWN - invalid --behave "fly": expected ok,`, 1},
		// A choice is taken in any letter case, in every spelling go-flags knows.
		{"choice in capitals", []string{"--behave", "VERDICT"}, 2, "FAKE CRITICAL - nothing listens", 1},
		{"choice after =", []string{"--behave=Verdict"}, 2, "FAKE CRITICAL - nothing listens", 1},
		{"choice short attached", []string{"-bVerdict"}, 2, "FAKE CRITICAL - nothing listens", 1},
		{"choice short separate", []string{"-b", "verdicT"}, 2, "FAKE CRITICAL - nothing listens", 1},
		{"choice after --", []string{"--", "--behave", "VERDICT"}, 3, `unexpected argument "--behave"`, 1},
		{"validate", []string{"--value", "-2000"}, 3, "FAKE UNKNOWN - --value below -1000 needs a --behave other than ok (see check_fake --help)", 1},
		{"validate passes", []string{"--value", "-2000", "--behave", "verdict"}, 2, "FAKE CRITICAL - nothing listens", 1},
		// --validate-options: the whole validation, then exit without running.
		{"validate only", []string{"--behave", "hang", "-w", "5", "--validate-options"}, 0, "FAKE OK - options are valid, nothing was checked (--validate-options)", 1},
		{"validate only refuses a range", []string{"--validate-options", "-w", "5:1"}, 3, `invalid range "5:1"`, 1},
		{"validate only refuses a choice", []string{"--validate-options", "--behave", "fly"}, 3, `invalid --behave "fly"`, 1},
		{"validate only refuses a combination", []string{"--validate-options", "--value", "-2000"}, 3, "FAKE UNKNOWN - --value below -1000 needs a --behave other than ok", 1},
		{"validate only refuses an argument", []string{"--validate-options", "extra"}, 3, `unexpected argument "extra"`, 1},
		// No option takes an empty value: a string option would read it as
		// "not given" (--pidfile "" watched nothing and said OK).
		{"empty value", []string{"--note", ""}, 3, `FAKE UNKNOWN - invalid --note "": expected TEXT, not an empty value (see check_fake --help)`, 1},
		{"empty value after =", []string{"--note=", "-w", "1"}, 3, `FAKE UNKNOWN - invalid --note "": expected TEXT, not an empty value`, 1},
		{"empty value short", []string{"-w", "1", "-n", ""}, 3, `FAKE UNKNOWN - invalid --note "": expected TEXT, not an empty value`, 1},
		{"validate only refuses an empty value", []string{"--validate-options", "--note", ""}, 3, `invalid --note "": expected TEXT`, 1},
		{"empty range keeps its own message", []string{"--note", "", "-w", ""}, 3, `invalid range ""`, 1},
		{"a value", []string{"--note", "x"}, 0, "FAKE OK - ", 0},
		// Modes that register themselves (Moded) are --mode's choices.
		{"registered mode", []string{"--mode", "DOUBLED", "--value", "50"}, 2, "FAKE CRITICAL - ", 0},
		{"unregistered mode", []string{"--mode", "lag"}, 3, `FAKE UNKNOWN - invalid --mode "lag": expected plain or doubled (see check_fake --help)`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.RunCheck(t, bin, nil, tc.args...)
			if r.Code != tc.code {
				t.Errorf("exit %d, want %d; stdout %q", r.Code, tc.code, r.Stdout)
			}
			if !strings.Contains(r.Stdout, tc.contain) {
				t.Errorf("stdout %q does not contain %q", r.Stdout, tc.contain)
			}
			if n := strings.Count(strings.TrimRight(r.Stdout, "\n"), "\n") + 1; tc.lines > 0 && n != tc.lines {
				t.Errorf("%d lines, want %d: %q", n, tc.lines, r.Stdout)
			}
			// Label, state word matching the exit code, perfdata, empty
			// stderr, no Go trace.
			testenv.AssertContract(t, "FAKE", r)
		})
	}
}

func TestPanicTraceOnlyWithVVV(t *testing.T) {
	bin := buildFake(t)
	r := testenv.RunCheck(t, bin, nil, "--behave", "panic", "-vvv")
	if r.Code != 3 || !strings.Contains(r.Stdout, "goroutine ") || r.Stderr != "" {
		t.Fatalf("-vvv panic: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	bin := buildFake(t)
	r := testenv.RunCheck(t, bin, nil, "--version")
	if r.Code != 3 || strings.TrimSpace(r.Stdout) != "check_fake 1.2.3 (commit abc123)" || r.Stderr != "" {
		t.Errorf("--version: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = testenv.RunCheck(t, bin, nil, "-h")
	if r.Code != 3 || r.Stderr != "" {
		t.Errorf("-h: exit %d stderr %q", r.Code, r.Stderr)
	}
	for _, want := range []string{"--timeout=DURATION", "(default: 10s)", "--timeout-state=STATE State reported on timeout (one of unknown, critical) (default: unknown)", "--behave= (one of ok, hang, syscall, panic, error, verdict, ctx, dupperf) (default: ok)", "(default: unknown)", "--critical=", "(default: 90)", "--verbose", "--version", "A fake check"} {
		if !strings.Contains(strings.Join(strings.Fields(r.Stdout), " "), want) {
			t.Errorf("help lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "emit-options-json") {
		t.Error("hidden options show in --help")
	}
	// Every registered mode, its line wrapped at 80 columns, and its
	// default thresholds kept on one line.
	want := `
Modes (--mode), with their default thresholds:
  plain    the value as given (default -c 90)
  doubled  twice the value, a mode whose line is long enough to be wrapped by
           the help at eighty columns (default -w 10: -c ~:20)
`
	if !strings.HasSuffix(r.Stdout, want+"\n") {
		t.Errorf("help does not end with the modes:\n%s\nwant\n%s", r.Stdout, want)
	}
	r = testenv.RunCheck(t, bin, nil, "--emit-options-json")
	var doc plugin.CheckDoc
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Modes) != 2 || doc.Modes[1] != (plugin.ModeDoc{Name: "doubled", Doc: "twice the value, a mode whose line is long enough to be wrapped by the help at eighty columns", Warning: "10:", Critical: "~:20"}) {
		t.Errorf("--emit-options-json modes: %+v", doc.Modes)
	}
	for _, o := range doc.Options {
		if o.Long == "mode" && strings.Join(o.Choices, ",") != "plain,doubled" {
			t.Errorf("--mode choices %q, want the registered modes", o.Choices)
		}
	}
}

// The watchdog answers before -t even when the check ignores its context
// or is stuck in a system call.
func TestWatchdog(t *testing.T) {
	bin := buildFake(t)
	for _, tc := range []struct {
		behave, state string
		code          int
		extra         []string
	}{
		{"hang", "UNKNOWN", 3, nil},
		{"syscall", "CRITICAL", 2, []string{"--timeout-state", "critical"}},
		{"ctx", "UNKNOWN", 3, nil},
	} {
		t.Run(tc.behave, func(t *testing.T) {
			args := append([]string{"--behave", tc.behave, "-t", "1.5"}, tc.extra...)
			r := testenv.RunCheck(t, bin, nil, args...)
			if r.Code != tc.code || !strings.HasPrefix(r.Stdout, "FAKE "+tc.state+" - timed out after 1.5s") || r.Stderr != "" {
				t.Errorf("exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
			}
			if r.Elapsed >= 1500*time.Millisecond || r.Elapsed < 1000*time.Millisecond {
				t.Errorf("answered after %v, want within (1s, 1.5s)", r.Elapsed)
			}
		})
	}
}
