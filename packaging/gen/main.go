// Command gen writes the Nagios, NRPE and Icinga 2 definitions, the
// sudoers snippet and the man pages under packaging/ from the options of
// the check binaries themselves, so the shipped definitions cannot drift
// from what the binaries accept.
//
// It builds every cmd/check_* (or takes prebuilt binaries with -bindir),
// asks each for its options (--emit-options-json) and its man page
// (--emit-man), and writes the files. Run it from the module root:
//
//	go run ./packaging/gen            # rewrite packaging/
//	go run ./packaging/gen -out DIR   # write elsewhere (the drift test does)
//
// Files: main.go (building the binaries, reading their options, writing
// the files), profiles.go (each check's examples, host option and
// privilege), render.go (Render: the list of files, the checks of the
// examples against the binaries, and the helpers every format shares),
// nagios.go (commands and services), nrpe.go, icinga.go (CheckCommands
// and services), sudoers.go, man.go (the man pages' added sections).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

func main() {
	root := flag.String("root", ".", "module root holding cmd/check_*")
	out := flag.String("out", "packaging", "directory to write the generated files under")
	bindir := flag.String("bindir", "", "take the binaries from this directory instead of building them")
	flag.Parse()
	if err := run(*root, *out, *bindir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(root, out, bindir string) error {
	names, err := checkNames(root)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no cmd/check_* under %s", root)
	}
	if bindir == "" {
		tmp, err := os.MkdirTemp("", "opschecks-gen-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := build(root, tmp, names); err != nil {
			return err
		}
		bindir = tmp
	}
	var checks []Check
	for _, n := range names {
		c, err := describe(filepath.Join(bindir, n))
		if err != nil {
			return err
		}
		if c.Name != n {
			return fmt.Errorf("%s calls itself %q in its Spec; the binary and the Spec must agree", n, c.Name)
		}
		checks = append(checks, c)
	}
	files, err := Render(checks)
	if err != nil {
		return err
	}
	return write(out, files)
}

// checkNames lists the binaries: the directories cmd/check_* holding Go files.
func checkNames(root string) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "cmd", "check_*"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range dirs {
		if gos, _ := filepath.Glob(filepath.Join(d, "*.go")); len(gos) > 0 {
			names = append(names, filepath.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

func build(root, dir string, names []string) error {
	for _, n := range names {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, n), "./cmd/"+n)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", n, err, b)
		}
	}
	return nil
}

// emit runs a binary with one of the hidden packaging options. They exit 3
// like --help does.
func emit(bin, opt string) ([]byte, error) {
	cmd := exec.Command(bin, opt)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		return nil, fmt.Errorf("%s %s: %v: %s", bin, opt, err, se.Bytes())
	}
	if err == nil {
		return nil, fmt.Errorf("%s %s exited 0; expected 3", bin, opt)
	}
	return so.Bytes(), nil
}

func describe(bin string) (Check, error) {
	b, err := emit(bin, "--emit-options-json")
	if err != nil {
		return Check{}, err
	}
	var c Check
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.CheckDoc); err != nil {
		return Check{}, fmt.Errorf("%s --emit-options-json: %v", bin, err)
	}
	man, err := emit(bin, "--emit-man")
	if err != nil {
		return Check{}, err
	}
	c.Man = string(man)
	return c, nil
}

// write puts the files under out and removes generated files of binaries
// that no longer exist (man pages), so a removed check leaves nothing behind.
func write(out string, files map[string]string) error {
	stale, _ := filepath.Glob(filepath.Join(out, "man", "*.1"))
	for _, p := range stale {
		rel, _ := filepath.Rel(out, p)
		if _, ok := files[filepath.ToSlash(rel)]; !ok {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for rel, content := range files {
		p := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check is what the generator knows of one binary.
type Check struct {
	plugin.CheckDoc
	Man string // go-flags man page as the binary printed it
}

// Short is the name without "check_", e.g. "numa".
func (c Check) Short() string { return strings.TrimPrefix(c.Name, "check_") }

// Command is the name of the Nagios command, NRPE command and Icinga 2
// CheckCommand: prefixed, so it never clashes with the ITL's mongodb or
// nginx_status or with monitoring-plugins' definitions.
func (c Check) Command() string { return "opschecks_" + c.Short() }

// Option returns the option with the given long name.
func (c Check) Option(long string) (plugin.OptionDoc, bool) {
	for _, o := range c.Options {
		if o.Long == long {
			return o, true
		}
	}
	return plugin.OptionDoc{}, false
}
