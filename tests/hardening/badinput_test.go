package hardening

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestBadInputMatrix: every bad input gives exit 3 and one clear line,
// on every binary.
func TestBadInputMatrix(t *testing.T) {
	huge := strings.Repeat("7", 100000) // under the kernel's 128 KiB limit for one argument
	// Files that exist and cannot be used: a directory, an empty file.
	// (Files unreadable for lack of a privilege: TestUnprivileged.)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, b := range allBinaries(t) {
		type tc struct {
			name string
			args []string
			want string
		}
		cases := []tc{
			{"unknown flag", []string{"--bogus"}, "unknown flag bogus"},
			{"unknown short flag", []string{"-Z"}, "unknown flag Z"},
			{"stray argument", []string{"stray"}, `unexpected argument "stray"`},
			{"negative timeout", []string{"-t", "-3"}, "must be greater than zero"},
			{"zero timeout", []string{"-t", "0"}, "must be greater than zero"},
			{"bad duration", []string{"-t", "soon"}, `invalid duration "soon"`},
			{"empty duration", []string{"-t", ""}, `invalid duration ""`},
			{"huge duration", []string{"-t", huge}, "invalid duration"},
			{"newline in duration", []string{"-t", "1\n0"}, "invalid duration"},
			{"bad timeout state", []string{"--timeout-state", "ok"}, "expected unknown or critical"},
			{"missing argument", []string{"-t"}, "expected argument"},
		}
		for _, opt := range []string{"warning", "critical"} {
			if !b.has(opt) {
				continue
			}
			flag := "--" + opt
			cases = append(cases,
				tc{opt + " reversed", []string{flag, "5:1"}, `invalid range "5:1": start is greater than end`},
				tc{opt + " garbage", []string{flag, "abc"}, `invalid range "abc"`},
				tc{opt + " lone @", []string{flag, "@"}, `invalid range "@"`},
				tc{opt + " two colons", []string{flag, "1:2:3"}, `invalid range "1:2:3"`},
				tc{opt + " empty", []string{flag, ""}, `invalid range ""`},
				tc{opt + " huge", []string{flag, huge}, "invalid range"},
				tc{opt + " newline", []string{flag, "1\n2"}, "invalid range"},
			)
		}
		// No option is required on its own; these need another one.
		if c, ok := map[string]tc{
			"check_mongodb":    {"missing required option", []string{"--mode", "database-size"}, "--mode database-size needs --database DB"},
			"check_tcp_window": {"missing required option", []string{"-p", "80"}, "-p needs -H HOST"},
		}[b.name]; ok {
			cases = append(cases, c)
		}
		// A pid file that does not exist is the service not running:
		// TestServiceDown.
		if b.has("pidfile") {
			cases = append(cases, tc{"pidfile is a directory", []string{"--pidfile", dir}, "cannot read " + dir},
				tc{"empty pidfile", []string{"--pidfile", empty}, empty})
		}
		if b.has("pid") {
			cases = append(cases, tc{"pid above the kernel's limit", []string{"--pid", "2147483646"}, `invalid --pid "2147483646": expected a process ID from 1 to 4194303`},
				tc{"pid not a number", []string{"--pid", "nginx"}, "nginx"})
		}
		if b.has("password-file") {
			cases = append(cases, tc{"nonexistent password file", []string{"--password-file", "/nonexistent/pw"}, "/nonexistent/pw"},
				tc{"password file is a directory", []string{"-u", "x", "--password-file", dir}, "cannot read " + dir},
				tc{"empty password file", []string{"-u", "x", "--password-file", empty}, empty},
				tc{"password file is a device", []string{"-u", "x", "--password-file", "/dev/zero", "-t", "3"}, "/dev/zero has no line end in its first 4096 bytes"})
		}
		if b.has("tls-ca-file") {
			cases = append(cases, tc{"CA file is a directory", []string{"--tls-ca-file", dir}, "--tls-ca-file: cannot read " + dir + ": is a directory"},
				tc{"CA file is a device", []string{"--tls-ca-file", "/dev/zero", "-t", "3"}, "--tls-ca-file /dev/zero is larger than 16.0 MiB"})
		}
		for _, c := range cases {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				r := testenv.RunCheck(t, b.path, nil, c.args...)
				unknownOneLine(t, b, r, c.want)
			})
		}
	}
}

// TestEmptyValues: an empty value is refused for every option of every
// binary (exit 3, one line naming the option), never read as "not given":
// --pidfile "" used to watch nothing and answer OK.
func TestEmptyValues(t *testing.T) {
	for _, b := range allBinaries(t) {
		for _, o := range b.doc.Options {
			if o.Bool {
				continue
			}
			t.Run(b.name+"/"+o.Long, func(t *testing.T) {
				for _, args := range [][]string{{"--" + o.Long, ""}, {"--" + o.Long + "="}} {
					r := testenv.RunCheck(t, b.path, nil, append(args, "--validate-options")...)
					unknownOneLine(t, b, r, "--"+o.Long)
				}
			})
		}
	}
}

// TestVersionAndHelp: every binary answers --version with the version set
// at build time and --help with its options, both exit 3.
func TestVersionAndHelp(t *testing.T) {
	for _, b := range allBinaries(t) {
		r := testenv.RunCheck(t, b.path, nil, "--version")
		if r.Code != 3 || r.Stdout != b.name+" test (commit test)\n" || r.Stderr != "" {
			t.Errorf("%s --version: exit %d %q %q", b.name, r.Code, r.Stdout, r.Stderr)
		}
		r = testenv.RunCheck(t, b.path, nil, "--help")
		if r.Code != 3 || r.Stderr != "" {
			t.Errorf("%s --help: exit %d stderr %q", b.name, r.Code, r.Stderr)
		}
		flat := strings.Join(strings.Fields(r.Stdout), " ")
		for _, o := range b.doc.Options {
			if !strings.Contains(flat, "--"+o.Long) {
				t.Errorf("%s --help does not list --%s", b.name, o.Long)
			}
			if d := strings.Join(o.Default, ", "); d != "" && !strings.Contains(flat, "(default: "+d+")") {
				t.Errorf("%s --help does not show the default of --%s (%s)", b.name, o.Long, d)
			}
		}
	}
}
