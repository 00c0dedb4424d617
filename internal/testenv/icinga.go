package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Icinga is a real Icinga 2 (Debian icinga2-bin) started by a test: every
// path the daemon and its CLI use (ConfigDir, ZonesDir, DataDir, LogDir,
// CacheDir, SpoolDir, InitRunDir) points into a temporary directory of its own, so
// neither the host's /etc/icinga2 and /var/lib/icinga2 nor a parallel
// test run is ever touched. It runs as root, in the test's network
// namespace or in Netns.
//
// Typical use: NewIcinga, WriteConfig("icinga2.conf", ...) (and
// zones.conf...), optionally PKI commands through Run, Start, then
// WaitResults on what its PerfdataWriter (PerfdataWriterConfig) wrote.
type Icinga struct {
	Dir       string // root of the instance's directories
	ConfigDir string // icinga2.conf lives here
	DataDir   string // certs/, ca/, icinga2.state
	SpoolDir  string // perfdata/ of PerfdataWriterConfig
	Netns     *Netns // nil: the test's own namespace
	LogFile   string // the daemon's console log (stdout and stderr)
	// StateDir, when set before Start, is what the daemon and the checks
	// it runs see as the packages' state directory (PrivateStateDir): the
	// shipped CheckCommands run as they are and never write the host's.
	StateDir string

	t   testing.TB
	bin string
	d   *Daemon
}

// NewIcinga prepares an instance's directories; nothing runs yet.
func NewIcinga(t testing.TB, netns *Netns) *Icinga {
	t.Helper()
	bin := Binary(t, "icinga2")
	dir := t.TempDir()
	ic := &Icinga{Dir: dir, ConfigDir: filepath.Join(dir, "config"), DataDir: filepath.Join(dir, "data"),
		SpoolDir: filepath.Join(dir, "spool"), Netns: netns, LogFile: filepath.Join(dir, "icinga2.log"), t: t, bin: bin}
	for _, d := range ic.dirs() {
		if err := os.MkdirAll(d[1], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"perfdata", "tmp"} {
		if err := os.MkdirAll(filepath.Join(ic.SpoolDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return ic
}

// dirs pairs each path constant of Icinga 2 with the instance's directory.
func (ic *Icinga) dirs() [][2]string {
	return [][2]string{
		// ZonesDir does not follow a ConfigDir given with -D: left out,
		// the daemon would load the host's /etc/icinga2/zones.d.
		{"ConfigDir", ic.ConfigDir}, {"ZonesDir", filepath.Join(ic.ConfigDir, "zones.d")},
		{"DataDir", ic.DataDir}, {"SpoolDir", ic.SpoolDir},
		{"LogDir", filepath.Join(ic.Dir, "log")}, {"CacheDir", filepath.Join(ic.Dir, "cache")},
		{"InitRunDir", filepath.Join(ic.Dir, "run")},
	}
}

// Defines are the -D options that give icinga2 (daemon and CLI) the
// instance's own paths and run it as root.
func (ic *Icinga) Defines() []string {
	var args []string
	for _, d := range ic.dirs() {
		args = append(args, "-D"+d[0]+"="+d[1])
	}
	return append(args, "-DRunAsUser=root", "-DRunAsGroup=root")
}

// Command is icinga2 with args and the instance's defines, inside its
// namespace when it has one.
func (ic *Icinga) Command(args ...string) *exec.Cmd {
	args = append(args, ic.Defines()...)
	if ic.Netns != nil {
		return ic.Netns.Command(ic.bin, args...)
	}
	return exec.Command(ic.bin, args...)
}

// Run runs an icinga2 CLI command (pki new-ca, pki sign-csr...) for the
// instance and fails the test on error.
func (ic *Icinga) Run(args ...string) string {
	ic.t.Helper()
	r := RunCmd(ic.t, ic.Command(args...))
	if r.Code != 0 {
		ic.t.Fatalf("icinga2 %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout + r.Stderr
}

// WriteConfig writes a file below ConfigDir (icinga2.conf is the one
// Start and Validate load).
func (ic *Icinga) WriteConfig(name, content string) {
	ic.t.Helper()
	p := filepath.Join(ic.ConfigDir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		ic.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		ic.t.Fatal(err)
	}
}

// Validate runs `icinga2 daemon -C` on ConfigDir/icinga2.conf and returns
// its output and whether the configuration is valid.
func (ic *Icinga) Validate() (string, bool) {
	ic.t.Helper()
	r := RunCmd(ic.t, ic.Command("daemon", "-C", "-c", filepath.Join(ic.ConfigDir, "icinga2.conf")))
	return r.Stdout + r.Stderr, r.Code == 0
}

// icingaReady is what Icinga 2 logs once every object is active: checks
// are scheduled and the API listens from then on.
const icingaReady = "information/ConfigItem: Activated all objects."

// Start runs `icinga2 daemon` on ConfigDir/icinga2.conf in its own process
// group and waits (at most 30 s) until every object is active. It is
// stopped at cleanup, also when the test fails.
func (ic *Icinga) Start() {
	ic.t.Helper()
	cmd := ic.Command("daemon", "-c", filepath.Join(ic.ConfigDir, "icinga2.conf"))
	if ic.StateDir != "" {
		cmd = PrivateStateDir(ic.t, cmd, ic.StateDir)
	}
	ic.d = StartDaemon(ic.t, cmd, ic.LogFile)
	if !ic.WaitLog(icingaReady, 30*time.Second) {
		ic.t.Fatalf("icinga2 did not activate its objects within 30 s (exited: %v):\n%s", ic.Exited(), ic.Log())
	}
}

// Stop ends the daemon (TERM, KILL after 10 s) and waits for it. Safe to
// call more than once.
func (ic *Icinga) Stop() { ic.d.Stop() }

// Exited reports whether the daemon has ended.
func (ic *Icinga) Exited() bool { return ic.d.Exited() }

// Log is the daemon's console log so far.
func (ic *Icinga) Log() string {
	b, _ := os.ReadFile(ic.LogFile)
	return string(b)
}

// WaitLog waits until the log contains s; false when the daemon exits or
// the time runs out first.
func (ic *Icinga) WaitLog(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(ic.Log(), s) {
			return true
		}
		if ic.Exited() || time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// IcingaServiceTemplate is a PerfdataWriter service_format_template in
// the shape of Icinga 2's default (DATATYPE::SERVICEPERFDATA, then TAB
// KEY::VALUE fields) that also records the state id, the attempt, the
// endpoint that ran the check and the whole plugin output, long output
// included (so it comes last, and a record may span lines).
const IcingaServiceTemplate = "DATATYPE::SERVICEPERFDATA\tTIMET::$icinga.timet$\tHOSTNAME::$host.name$\tSERVICEDESC::$service.name$" +
	"\tSERVICESTATEID::$service.state_id$\tSERVICESTATETYPE::$service.state_type$\tSERVICEATTEMPT::$service.check_attempt$" +
	"\tCHECKSOURCE::$service.check_source$\tSERVICEPERFDATA::$service.perfdata$\tSERVICEOUTPUT::$service.output$"

// PerfdataWriterConfig is the configuration of a PerfdataWriter that
// writes service results with serviceTemplate (IcingaServiceTemplate when
// empty) into SpoolDir/perfdata, rotating every second.
func (ic *Icinga) PerfdataWriterConfig(serviceTemplate string) string {
	if serviceTemplate == "" {
		serviceTemplate = IcingaServiceTemplate
	}
	p, tmp := filepath.Join(ic.SpoolDir, "perfdata"), filepath.Join(ic.SpoolDir, "tmp")
	return fmt.Sprintf(`
object PerfdataWriter "testenv" {
	service_perfdata_path = %q
	service_temp_path = %q
	host_perfdata_path = %q
	host_temp_path = %q
	service_format_template = %q
	rotation_interval = 1s
}
`, p+"/service-perfdata", tmp+"/service-perfdata", p+"/host-perfdata", tmp+"/host-perfdata", serviceTemplate)
}

// PerfdataRecords reads the service records the PerfdataWriter of
// PerfdataWriterConfig has rotated so far, oldest first, each as a map
// of its KEY::VALUE fields (DATATYPE included).
func (ic *Icinga) PerfdataRecords() []map[string]string {
	files, _ := filepath.Glob(filepath.Join(ic.SpoolDir, "perfdata", "service-perfdata.*"))
	sort.Strings(files) // the suffix is the rotation's Unix time
	var recs []map[string]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			recs = append(recs, ParsePerfdataRecords(string(b))...)
		}
	}
	return recs
}

var perfdataField = regexp.MustCompile(`\t([A-Z][A-Z0-9_]*)::`)

// ParsePerfdataRecords splits what a PerfdataWriter wrote with a template
// in the shape of Icinga 2's default (each record starts a line with
// DATATYPE::, fields are TAB KEY::VALUE) into one map per record. A value
// may span lines (plugin output); a TAB followed by KEY:: inside a value
// would split it.
func ParsePerfdataRecords(text string) []map[string]string {
	var recs []map[string]string
	for _, chunk := range strings.Split("\n"+text, "\nDATATYPE::") {
		if chunk == "" || strings.HasPrefix(chunk, "\n") {
			continue
		}
		chunk = "\tDATATYPE::" + strings.TrimSuffix(chunk, "\n")
		rec := map[string]string{}
		idx := perfdataField.FindAllStringSubmatchIndex(chunk, -1)
		for i, m := range idx {
			end := len(chunk)
			if i+1 < len(idx) {
				end = idx[i+1][0]
			}
			rec[chunk[m[2]:m[3]]] = chunk[m[1]:end]
		}
		recs = append(recs, rec)
	}
	return recs
}

// IcingaResult is one service check result as IcingaServiceTemplate
// records it.
type IcingaResult struct {
	Host, Service string
	State         int    // 0 OK .. 3 UNKNOWN
	StateType     string // SOFT or HARD
	Attempt       int    // $service.check_attempt$ once Icinga processed the result
	Source        string // the endpoint that ran the check (check_source)
	Perfdata      string // as Icinga 2 normalised it
	Output        string // first line and long output
}

// Results reads the records of IcingaServiceTemplate, oldest first.
func (ic *Icinga) Results() []IcingaResult {
	var res []IcingaResult
	for _, r := range ic.PerfdataRecords() {
		if r["DATATYPE"] != "SERVICEPERFDATA" {
			continue
		}
		st, _ := strconv.Atoi(r["SERVICESTATEID"])
		at, _ := strconv.Atoi(r["SERVICEATTEMPT"])
		res = append(res, IcingaResult{Host: r["HOSTNAME"], Service: r["SERVICEDESC"], State: st,
			StateType: r["SERVICESTATETYPE"], Attempt: at, Source: r["CHECKSOURCE"],
			Perfdata: r["SERVICEPERFDATA"], Output: r["SERVICEOUTPUT"]})
	}
	return res
}

// WaitResults polls Results (bounded by timeout) until done accepts them,
// and returns the last ones read; it fails the test with the log when
// the daemon exits or the time runs out.
func (ic *Icinga) WaitResults(timeout time.Duration, done func([]IcingaResult) bool) []IcingaResult {
	ic.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res := ic.Results()
		if done(res) {
			return res
		}
		if ic.Exited() || time.Now().After(deadline) {
			ic.t.Fatalf("icinga2 did not record the expected results within %v (exited: %v); %d results:\n%v\nlog:\n%s",
				timeout, ic.Exited(), len(res), res, tail(ic.Log(), 6000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// IssueCerts makes ca the certificate authority of a cluster and gives
// each node (by its NodeName, which is also its Endpoint name and its
// certificate's CN; ca may be one of them) a key and a certificate signed
// by it, the way Icinga 2's documentation describes manual certificate
// creation: `pki new-ca` on the CA; on each node `pki new-cert` (key and
// CSR: the private key never leaves the node's directory); `pki sign-csr`
// on the CA; the certificate and the CA's certificate then go to the
// node's DataDir/certs/ as CN.crt and ca.crt, next to CN.key, where its
// ApiListener reads them. The keys (4096-bit RSA, seconds each) are made
// concurrently.
func IssueCerts(t testing.TB, ca *Icinga, nodes map[string]*Icinga) {
	t.Helper()
	type job struct {
		what string
		cmd  *exec.Cmd
	}
	// Bounded like RunCmd: a stuck CLI fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bounded := func(c *exec.Cmd) *exec.Cmd {
		b := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
		b.Env, b.Dir = c.Env, c.Dir
		return b
	}
	jobs := []job{{"pki new-ca", bounded(ca.Command("pki", "new-ca"))}}
	for cn, n := range nodes {
		certs := filepath.Join(n.DataDir, "certs")
		if err := os.MkdirAll(certs, 0o700); err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(certs, cn)
		jobs = append(jobs, job{"pki new-cert for " + cn, bounded(n.Command("pki", "new-cert", "--cn", cn, "--key", base+".key", "--csr", base+".csr"))})
	}
	errs := make([]string, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := j.cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Sprintf("icinga2 %s: %v\n%s", j.what, err, out)
			}
		}()
	}
	wg.Wait()
	if e := strings.TrimSpace(strings.Join(errs, "")); e != "" {
		t.Fatal(e)
	}
	caCert, err := os.ReadFile(filepath.Join(ca.DataDir, "ca", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	for cn, n := range nodes {
		base := filepath.Join(n.DataDir, "certs", cn)
		ca.Run("pki", "sign-csr", "--csr", base+".csr", "--cert", base+".crt")
		if err := os.WriteFile(filepath.Join(n.DataDir, "certs", "ca.crt"), caCert, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
