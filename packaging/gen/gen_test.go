package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

func demo(t testing.TB) Check {
	t.Helper()
	b, err := os.ReadFile("testdata/check_demo.json")
	if err != nil {
		t.Fatal(err)
	}
	var c Check
	if err := json.Unmarshal(b, &c.CheckDoc); err != nil {
		t.Fatal(err)
	}
	c.Man = ".TH check_demo 1 \"22 November 2026\"\n.SH NAME\ncheck_demo \\- DEMO check\n"
	return c
}

// withProfile registers a profile for the test and removes it afterwards.
func withProfile(t *testing.T, name string, p profile) {
	t.Helper()
	old, had := profiles[name]
	profiles[name] = p
	t.Cleanup(func() {
		if had {
			profiles[name] = old
		} else {
			delete(profiles, name)
		}
	})
}

// Every generated file of a fixture check, against golden files: the
// formats are reviewed once and then held still.
func TestRenderGolden(t *testing.T) {
	withProfile(t, "check_demo", profile{
		Example: []string{"--mode", "lag", "--local", "--pid=1", "-H", "db.example"},
		Examples: []example{
			{[]string{"-H", "db.example", "--mode", "LAG"}, "How far db.example is behind."},
			{[]string{"--very-long-option-name", "it's"}, "A quoted value."},
		},
		Remote:     true,
		HostOption: "host",
		Privileged: "reads what only root may",
	})
	files, err := Render([]Check{demo(t)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"icinga2/opschecks-commands.conf", "icinga2/opschecks-services.conf", "man/check_demo.1",
		"nagios/opschecks-commands.cfg", "nagios/opschecks-services.cfg", "nrpe/opschecks-rpm.cfg", "nrpe/opschecks.cfg", "sudoers/opschecks"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", names, want)
	}
	for _, n := range names {
		golden := filepath.Join("testdata", "golden", strings.ReplaceAll(n, "/", "_"))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(files[n]), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./packaging/gen -update)", err)
		}
		if string(b) != files[n] {
			t.Errorf("%s differs from %s:\n%s", n, golden, files[n])
		}
	}
}

func TestRenderDetails(t *testing.T) {
	withProfile(t, "check_demo", profile{Example: []string{"--local", "--pid", "7"}, Remote: true, HostOption: "host"})
	files, err := Render([]Check{demo(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"nagios/opschecks-commands.cfg", "command_line    $USER1$/check_demo -H '$HOSTADDRESS$' $ARG1$\n"},
		{"nagios/opschecks-services.cfg", "check_command           opschecks_demo!--local --pid 7\n"},
		{"nrpe/opschecks.cfg", "command[opschecks_demo]=/usr/lib/nagios/plugins/check_demo --local --pid 7\n"},
		{"nrpe/opschecks.cfg", "#command[opschecks_demo_args]=/usr/lib/nagios/plugins/check_demo $ARG1$\n"},
		{"nrpe/opschecks-rpm.cfg", "command[opschecks_demo]=/usr/lib64/nagios/plugins/check_demo --local --pid 7\n"},
		{"icinga2/opschecks-commands.conf", "\t\t\"--local\" = {\n\t\t\tset_if = \"$opschecks_demo_local$\"\n"},
		{"icinga2/opschecks-commands.conf", "\t\t\"--mode\" = {\n\t\t\tvalue = \"$opschecks_demo_mode$\"\n\t\t\trequired = true\n"},
		{"icinga2/opschecks-commands.conf", `description = "Server to ask, \"quoted\" \\ backslash (default: 127.0.0.1)"`},
		{"icinga2/opschecks-commands.conf", `description = "What to check (one of connect, lag; default: connect; required)"`},
		{"icinga2/opschecks-commands.conf", "\timport \"ipv4-or-ipv6\"\n"},
		{"icinga2/opschecks-commands.conf", "\tvars.opschecks_demo_host = \"$check_address$\"\n"},
		{"icinga2/opschecks-services.conf", "\tvars.opschecks_demo_local = true\n\tvars.opschecks_demo_pid = [ \"7\" ]\n"},
		{"sudoers/opschecks", "# (no check needs privilege)\n"},
		{"man/check_demo.1", ".TH CHECK_DEMO 1 \"\" \"opschecks\" \"Monitoring plugins\"\n"},
		{"man/check_demo.1", ".SH MODES\nThe values of \\fB\\-\\-mode\\fR, with their default thresholds.\n.TP\n\\fBconnect\\fR\nthe time to connect, in seconds (default \\-w 1 \\-c 3)\n.TP\n\\fBlag\\fR\nhow far behind, in seconds; \\-w/\\-c only\n.SH EXAMPLES\n"},
		// Without examples of its own, the man page shows the service's.
		{"man/check_demo.1", ".SH EXAMPLES\n.TP\n\\fBcheck_demo \\-\\-local \\-\\-pid 7\\fR\nThe check with the arguments of the example service.\n.TP\n\\fBcheck_demo \\-\\-local \\-\\-pid 7 \\-\\-validate\\-options\\fR\n"},
	} {
		if !strings.Contains(files[tc.file], tc.want) {
			t.Errorf("%s lacks %q:\n%s", tc.file, tc.want, files[tc.file])
		}
	}
	// A local check runs on the host's agent (command_endpoint); a
	// network check where it is scheduled.
	withProfile(t, "check_demo", profile{Example: []string{"--local"}})
	local, err := Render([]Check{demo(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "\tvars.opschecks_demo_local = true\n\tcommand_endpoint = host.vars.agent_endpoint\n\tassign where host.vars.agent_endpoint || host.name == NodeName\n}\n"; !strings.Contains(local["icinga2/opschecks-services.conf"], want) {
		t.Errorf("the local check's example service lacks %q:\n%s", want, local["icinga2/opschecks-services.conf"])
	}
	if strings.Contains(strings.SplitN(files["icinga2/opschecks-services.conf"], "*/", 2)[1], "command_endpoint") {
		t.Errorf("the network check's example service runs on the agent:\n%s", files["icinga2/opschecks-services.conf"])
	}
	// --help, --version and --validate-options only print: no Icinga
	// argument, no Nagios option line for them.
	for _, o := range []string{"--help", "--validate-options"} {
		if strings.Contains(files["icinga2/opschecks-commands.conf"], `"`+o+`"`) || strings.Contains(files["nagios/opschecks-commands.cfg"], o) {
			t.Errorf("a definition offers %s", o)
		}
	}
	// The build date of go-flags' man page is gone (no daily drift).
	if strings.Contains(files["man/check_demo.1"], "2026") {
		t.Error("man page keeps the build date")
	}
}

// Secrets mapped to the environment leave the Icinga 2 arguments (and so
// the process list) and go into the CheckCommand's env.
func TestRenderEnv(t *testing.T) {
	withProfile(t, "check_demo", profile{Env: map[string]string{"very-long-option-name": "DEMO_SECRET"}})
	files, err := Render([]Check{demo(t)})
	if err != nil {
		t.Fatal(err)
	}
	ic := files["icinga2/opschecks-commands.conf"]
	if strings.Contains(ic, `"--very-long-option-name" = {`) {
		t.Error("the secret option is still an argument")
	}
	if !strings.Contains(ic, "\tenv = {\n\t\tDEMO_SECRET = \"$opschecks_demo_very_long_option_name$\" /* --very-long-option-name */\n\t}\n") {
		t.Errorf("no env entry for the secret:\n%s", ic)
	}
	withProfile(t, "check_demo", profile{Env: map[string]string{"nope": "X"}})
	if _, err := Render([]Check{demo(t)}); err == nil || !strings.Contains(err.Error(), "--nope") {
		t.Errorf("env for a missing option: error %v", err)
	}
}

func TestExampleArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, `"--nope" names no option`},
		{[]string{"-x"}, `"-x" names no option`},
		{[]string{"--pid"}, "lacks its value"},
		{[]string{"--local=1"}, "gives a value to a boolean"},
		{[]string{"--mode", "lags"}, `example --mode "lags" is none of connect, lag`},
	} {
		withProfile(t, "check_demo", profile{Example: tc.args})
		_, err := Render([]Check{demo(t)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("example %q: error %v, want %q", tc.args, err, tc.want)
		}
		// The man page's examples are held to the same.
		withProfile(t, "check_demo", profile{Examples: []example{{tc.args, "x"}}})
		if _, err := Render([]Check{demo(t)}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("man example %q: error %v, want %q", tc.args, err, tc.want)
		}
	}
	withProfile(t, "check_demo", profile{Remote: true, HostOption: "hostname"})
	if _, err := Render([]Check{demo(t)}); err == nil || !strings.Contains(err.Error(), "--hostname") {
		t.Errorf("missing host option: error %v", err)
	}
}

func TestShellArgsAndEscapes(t *testing.T) {
	if got := shellArgs([]string{"--port", "80", "-w", "10:", "it's here"}); got != `--port 80 -w 10: 'it'\''s here'` {
		t.Errorf("shellArgs: %s", got)
	}
	if got := nagiosEscape("a;b!c"); got != `a\;b\!c` {
		t.Errorf("nagiosEscape: %s", got)
	}
	if got := icingaString("a\"b\\c\nd"); got != `"a\"b\\c\nd"` {
		t.Errorf("icingaString: %s", got)
	}
}

// FuzzExampleArgs: any example argument list either resolves against the
// options or is refused with an error; it never panics, and every
// resolved argument names a real option.
func FuzzExampleArgs(f *testing.F) {
	f.Add("--mode lag --local")
	f.Add("--pid=1 -H x")
	f.Add("--pid")
	f.Add("-- - --=")
	c := demo(f)
	f.Fuzz(func(t *testing.T, s string) {
		profiles["check_demo"] = profile{Example: strings.Fields(s)}
		defer delete(profiles, "check_demo")
		res, err := exampleArgs(c)
		if err != nil {
			return
		}
		for _, a := range res {
			if _, ok := c.Option(a.Opt.Long); !ok {
				t.Fatalf("resolved to unknown option %+v", a.Opt)
			}
			if a.Opt.Bool && a.Value != "" {
				t.Fatalf("boolean %s with value %q", a.Opt.Long, a.Value)
			}
		}
	})
}
