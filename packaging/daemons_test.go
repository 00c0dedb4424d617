package packaging_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// nagiosService is one example service of the committed services file,
// resolved to the command line Nagios runs.
type nagiosService struct {
	Name string
	Argv []string
}

// nagiosServices resolves the example services through the committed
// command definitions, the way Nagios expands the macros.
func nagiosServices(t *testing.T, root, pluginDir string) []nagiosService {
	t.Helper()
	cmdText, _ := os.ReadFile(filepath.Join(root, "packaging", "nagios", "opschecks-commands.cfg"))
	svcText, _ := os.ReadFile(filepath.Join(root, "packaging", "nagios", "opschecks-services.cfg"))
	lines := map[string]string{}
	for _, m := range regexp.MustCompile(`command_name\s+(\S+)\n\s+command_line\s+(.+)\n`).FindAllStringSubmatch(string(cmdText), -1) {
		lines[m[1]] = m[2]
	}
	var svcs []nagiosService
	for _, m := range regexp.MustCompile(`service_description\s+(\S+)\n\s+check_command\s+(.*)\n`).FindAllStringSubmatch(string(svcText), -1) {
		name, arg, _ := strings.Cut(m[2], "!")
		line, ok := lines[name]
		if !ok {
			t.Fatalf("service %s uses command %s, which opschecks-commands.cfg does not define", m[1], name)
		}
		line = strings.NewReplacer("$USER1$", pluginDir, "$HOSTADDRESS$", "127.0.0.1", "$ARG1$", arg).Replace(line)
		argv, err := splitWords(line)
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, nagiosService{Name: m[1], Argv: argv})
	}
	if len(svcs) != len(checkNames(t)) {
		t.Fatalf("%d example services for %d checks", len(svcs), len(checkNames(t)))
	}
	return svcs
}

// The time period and the objects of testenv's Nagios (one contact,
// localhost, generic-service), shared by the Nagios tests here.
const (
	nagiosTimeperiod = testenv.NagiosTimeperiod
	nagiosObjects    = testenv.NagiosObjects
)

// nagiosConfig is a nagios.cfg whose files are all below dir, loading
// dir/objects.cfg and the shipped command definitions from pkg, plus
// extra lines (PKG in them stands for pkg).
func nagiosConfig(dir, pkg, extra string) string {
	return testenv.NagiosMain(dir) + strings.NewReplacer("DIR", dir, "PKG", pkg).Replace(`cfg_file=PKG/nagios/opschecks-commands.cfg
resource_file=DIR/resource.cfg
process_performance_data=0
`+extra+"\n")
}

func TestNagios(t *testing.T) {
	testenv.Require(t, "root", "nagios4")
	nagios4 := testenv.Binary(t, "nagios4")
	root := testenv.ModuleRoot(t)
	bindir := binDir(t)
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "objects.cfg"), nagiosObjects)
	mustWrite(t, filepath.Join(dir, "resource.cfg"), "$USER1$="+bindir+"\n")
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "nagios.cfg")
	mustWrite(t, cfg, nagiosConfig(dir, filepath.Join(root, "packaging"), "cfg_file=PKG/nagios/opschecks-services.cfg\nenable_notifications=0"))

	out, err := exec.Command(nagios4, "-v", cfg).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Total Errors:   0") {
		t.Fatalf("nagios4 -v %s: %v\n%s", cfg, err, out)
	}
	if !strings.Contains(string(out), "Total Warnings: 0") {
		t.Errorf("nagios4 -v warns about our definitions:\n%s", out)
	}
	if n := len(checkNames(t)); !strings.Contains(string(out), fmt.Sprintf("Checked %d services.", n)) {
		t.Errorf("nagios4 -v did not check %d services:\n%s", n, out)
	}

	svcs := nagiosServices(t, root, bindir)
	before := map[string]result{}
	for _, s := range svcs {
		before[s.Name] = runAs(t, nil, s.Argv)
	}

	d := testenv.StartDaemon(t, testenv.PrivateStateDir(t, exec.Command(nagios4, cfg), privateState(t)), filepath.Join(dir, "stdout.log"))
	status := filepath.Join(dir, "status.dat")
	var st map[string]map[string]string
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, _ = testenv.ReadNagiosStatus(status)
		done := len(st) == len(svcs)
		for _, s := range st {
			if s["has_been_checked"] != "1" {
				done = false
			}
		}
		if done {
			break
		}
		if d.Exited() || time.Now().After(deadline) {
			t.Fatalf("nagios4 did not check every service (exited %v); status: %v\nlog:\n%s\n%s", d.Exited(), st, readLog(filepath.Join(dir, "nagios.log")), readLog(filepath.Join(dir, "stdout.log")))
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.Stop()

	for _, s := range svcs {
		after := runAs(t, nil, s.Argv)
		rec, ok := st[s.Name]
		if !ok {
			t.Errorf("service %s not in status.dat", s.Name)
			continue
		}
		code, err := strconv.Atoi(rec["current_state"])
		if err != nil {
			t.Errorf("%s: current_state %q", s.Name, rec["current_state"])
		}
		got := parseOutput(code, rec["plugin_output"]+"|"+rec["performance_data"]+"\n"+rec["long_plugin_output"])
		t.Logf("%s: nagios recorded %v", s.Name, got)
		if got.Code == 3 {
			t.Errorf("%s: UNKNOWN; the example services must give a real answer on any host: %v", s.Name, got)
		}
		sameAsByHand(t, "nagios4 service "+s.Name, got, before[s.Name], after)
	}
}

// waitListening waits until addr accepts connections (bounded), dialled
// from ns (nil: the test's own namespace).
func waitListening(t *testing.T, ns *testenv.Netns, addr string, d *testenv.Daemon, log string) {
	t.Helper()
	dial := func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if ns != nil {
			err = ns.Do(dial)
		} else {
			err = dial()
		}
		if err == nil {
			return
		}
		if d.Exited() || time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s (daemon exited: %v): %v\n%s", addr, d.Exited(), err, readLog(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIcingaValidates(t *testing.T) {
	testenv.Require(t, "icinga2")
	root := testenv.ModuleRoot(t)
	ic := testenv.NewIcinga(t, nil)
	commands := filepath.Join(root, "packaging", "icinga2", "opschecks-commands.conf")
	cfg := fmt.Sprintf(`include <itl>
include <plugins>
const PluginDir = "/usr/lib/nagios/plugins"
object Host NodeName {
	address = "127.0.0.1"
	check_command = "dummy"
}
include %q
include %q
`, commands, filepath.Join(root, "packaging", "icinga2", "opschecks-services.conf"))
	ic.WriteConfig("icinga2.conf", cfg)
	out, ok := ic.Validate()
	if !ok {
		t.Fatalf("icinga2 daemon -C:\n%s", out)
	}
	n := len(checkNames(t))
	if !strings.Contains(out, fmt.Sprintf("Instantiated %d Services.", n)) {
		t.Errorf("icinga2 did not instantiate one service per check (%d):\n%s", n, out)
	}
	if strings.Contains(out, "warning/") {
		t.Errorf("icinga2 warns about our configuration:\n%s", out)
	}
	// Each CheckCommand is used by a service (the example apply rules).
	for _, c := range checkNames(t) {
		cmd := "opschecks_" + strings.TrimPrefix(c, "check_")
		if b, _ := os.ReadFile(filepath.Join(root, "packaging", "icinga2", "opschecks-services.conf")); !strings.Contains(string(b), `check_command = "`+cmd+`"`) {
			t.Errorf("no example service uses CheckCommand %s", cmd)
		}
	}
	// A definition that clashes with the ITL (a CheckCommand named like
	// one of ours in the ITL, or ours duplicated) fails validation: prove
	// the validation is real by including the commands twice.
	ic.WriteConfig("icinga2.conf", cfg+fmt.Sprintf("include %q\n", commands))
	if out, ok := ic.Validate(); ok {
		t.Errorf("icinga2 -C accepted duplicated CheckCommands, so the validation proves nothing:\n%s", out)
	}
}

// fastServices are the example Icinga 2 services, checked at once and
// every second.
func fastServices(t *testing.T, root string) string {
	t.Helper()
	svc, err := os.ReadFile(filepath.Join(root, "packaging", "icinga2", "opschecks-services.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^\tcheck_command = (.*)$`).ReplaceAllString(string(svc), "\tcheck_command = $1\n\tcheck_interval = 1s\n\tretry_interval = 1s")
}

// Icinga 2 really runs each CheckCommand of the example services and
// records the same state, output and perfdata as running the binary by
// hand (read through a PerfdataWriter).
func TestIcingaRuns(t *testing.T) {
	testenv.Require(t, "root", "icinga2")
	root := testenv.ModuleRoot(t)
	bindir := binDir(t)
	fast := fastServices(t, root)
	// Every CheckCommand once more with each option that has a default set
	// explicitly to it: the answer must not change, which proves that every
	// such argument is an option the binary accepts, with its value passed.
	var extra strings.Builder
	for _, b := range regexp.MustCompile(`(?s)apply Service "([^"]+)" \{\n(.*?)\n\}`).FindAllStringSubmatch(fast, -1) {
		name, body := b[1], b[2]
		doc := docOf(t, filepath.Join(bindir, "check_"+strings.TrimPrefix(name, "opschecks_")))
		fmt.Fprintf(&extra, "\napply Service %q {\n%s\n", name+"_defaults", body)
		for _, o := range doc.Options {
			if o.Bool || len(o.Default) == 0 || o.Long == "help" || o.Long == "version" {
				continue
			}
			v := name + "_" + strings.ReplaceAll(o.Long, "-", "_")
			if strings.Contains(body, "vars."+v+" ") {
				continue
			}
			if o.Repeatable {
				var q []string
				for _, d := range o.Default {
					q = append(q, strconv.Quote(d))
				}
				fmt.Fprintf(&extra, "\tvars.%s = [ %s ]\n", v, strings.Join(q, ", "))
			} else {
				fmt.Fprintf(&extra, "\tvars.%s = %s\n", v, strconv.Quote(o.Default[0]))
			}
		}
		extra.WriteString("}\n")
	}
	t.Logf("services with every default set explicitly:%s", extra.String())
	ic := testenv.NewIcinga(t, nil)
	ic.StateDir = privateState(t)
	ic.WriteConfig("services.conf", fast+extra.String())
	ic.WriteConfig("icinga2.conf", fmt.Sprintf(`include <itl>
include <plugins>
const PluginDir = %q
object CheckerComponent "checker" {}
object Host NodeName {
	address = "127.0.0.1"
	check_command = "dummy"
	enable_active_checks = false
}
%s
include %q
include "services.conf"
`, bindir, ic.PerfdataWriterConfig(""), filepath.Join(root, "packaging", "icinga2", "opschecks-commands.conf")))

	// The same command lines, as Nagios would run them, for by-hand runs.
	byHand := map[string][]string{}
	for _, s := range nagiosServices(t, root, bindir) {
		byHand[s.Name] = s.Argv
		byHand[s.Name+"_defaults"] = s.Argv
	}
	before := map[string]result{}
	for n, argv := range byHand {
		before[n] = runAs(t, nil, argv)
	}

	ic.Start()
	got := map[string]result{}
	ic.WaitResults(90*time.Second, func(rs []testenv.IcingaResult) bool {
		for _, r := range rs {
			if _, ok := got[r.Service]; !ok {
				got[r.Service] = icingaResult(r)
			}
		}
		return len(got) >= len(byHand)
	})
	ic.Stop()
	for n, argv := range byHand {
		after := runAs(t, nil, argv)
		g, ok := got[n]
		if !ok {
			t.Errorf("icinga2 recorded nothing for %s", n)
			continue
		}
		t.Logf("%s: icinga2 recorded %v", n, g)
		sameAsByHand(t, "icinga2 service "+n, g, before[n], after)
	}
}

func TestNRPE(t *testing.T) {
	testenv.Require(t, "root", "nrpe", "check_nrpe")
	nrpe := testenv.Binary(t, "nrpe")
	checkNRPE := testenv.Binary(t, "check_nrpe")
	root := testenv.ModuleRoot(t)
	bindir := binDir(t)
	cred := nagiosCred(t)

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Our snippet, pointed at the freshly built binaries.
	snippet, _ := os.ReadFile(filepath.Join(root, "packaging", "nrpe", "opschecks.cfg"))
	mustWrite(t, filepath.Join(dir, "opschecks.cfg"), strings.ReplaceAll(string(snippet), "/usr/lib/nagios/plugins/", bindir+"/"))
	port := testenv.FreePort(t)
	cfg := filepath.Join(dir, "nrpe.cfg")
	logFile := filepath.Join(dir, "nrpe.log")
	mustWrite(t, logFile, "")
	if err := os.Chmod(logFile, 0o666); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, cfg, fmt.Sprintf(`log_file=%s/nrpe.log
debug=1
pid_file=%s/nrpe.pid
server_address=127.0.0.1
server_port=%d
nrpe_user=nagios
nrpe_group=nagios
allowed_hosts=127.0.0.1
dont_blame_nrpe=0
allow_bash_command_substitution=0
command_timeout=60
connection_timeout=60
include=%s/opschecks.cfg
`, dir, dir, port, dir))
	d := testenv.StartDaemon(t, testenv.PrivateStateDir(t, exec.Command(nrpe, "-c", cfg, "-f"), privateState(t)), filepath.Join(dir, "nrpe.stdout"))

	cmds := nrpeCommands(t, filepath.Join(dir, "opschecks.cfg"))
	if len(cmds) != len(checkNames(t)) {
		t.Fatalf("%d fixed NRPE commands for %d checks", len(cmds), len(checkNames(t)))
	}
	waitListening(t, nil, fmt.Sprintf("127.0.0.1:%d", port), d, filepath.Join(dir, "nrpe.log"))
	ask := func(args ...string) result {
		return runAs(t, nil, append([]string{checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "60"}, args...))
	}
	var ok, notOK int
	for name, line := range cmds {
		argv, err := splitWords(line)
		if err != nil {
			t.Fatal(err)
		}
		before := runAs(t, cred, argv)
		got := ask("-c", name)
		after := runAs(t, cred, argv)
		t.Logf("check_nrpe -c %s: %v", name, got)
		sameAsByHand(t, "check_nrpe -c "+name, got, before, after)
		if got.Code == 0 {
			ok++
		} else {
			notOK++
		}
	}
	if ok == 0 || notOK == 0 {
		t.Errorf("the fixed NRPE commands gave %d OK and %d non-OK answers; the test needs both", ok, notOK)
	}

	// With dont_blame_nrpe=0 the server cannot pass arguments: nrpe drops
	// the request and the check never runs. (Debian's nrpe is built
	// without argument support at all, so the commented $ARG1$ variants
	// need an nrpe built with --enable-command-args; README, "Packages and monitoring definitions".)
	r := ask("-c", "opschecks_"+strings.TrimPrefix(checkNames(t)[0], "check_"), "-a", "--help")
	if r.Code != 3 || !strings.HasPrefix(r.Output, "CHECK_NRPE: ") {
		t.Errorf("nrpe ran a command with arguments from the server: %v", r)
	}
	d.Stop()
	if log := readLog(filepath.Join(dir, "nrpe.log")); !strings.Contains(log, "Request contained command arguments") {
		t.Errorf("nrpe did not log why it refused the arguments:\n%s", log)
	}
}
