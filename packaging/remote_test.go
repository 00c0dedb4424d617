package packaging_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The remote-host tests run the local checks the way a fleet runs them:
// scheduled on a monitoring server, executed on the monitored host by an
// Icinga 2 agent (command_endpoint) or by nrpe. Both hosts are network
// namespaces of this machine joined by a veth pair, and their kernels
// differ where the checks look, so every recorded result shows which
// kernel it came from.

// testHosts are the monitoring server and the monitored host, each with
// its own state directory for the rate checks (--state-dir), as separate
// machines have: the tests never write this machine's /var/lib/opschecks,
// and a namespace that reuses the inode of an earlier one (state files
// are keyed by it) never meets that one's files.
type testHosts struct {
	server, remote           *testenv.Netns
	serverState, remoteState string
}

// Addresses that exist only inside the test's two namespaces.
const (
	serverIP = "10.221.0.1"
	remoteIP = "10.221.0.2"
)

// remoteKernel is, for each local check, what must tell the two hosts
// apart (their setup in newTestHosts): the state on the server and on the
// remote host, a perfdata item only the remote kernel gives and whether
// the output names the network namespace (it is then the remote host's).
// check_numa reads host-wide /sys and /proc files, the same in every
// namespace: it is compared with a run by hand but cannot tell the hosts
// apart.
var remoteKernel = map[string]struct {
	server, remote int
	perf           string
	namesNetns     bool
}{
	// tcp_keepalive_time 7200 against 30, idle timeout 90 s.
	"opschecks_keepalive": {2, 0, "tcp_keepalive_time=30s;", true},
	// Window scaling off on the remote host.
	"opschecks_tcp_window": {0, 1, "advertised_wscale=0;", false},
	// nginx's accept queue full on the remote host only.
	"opschecks_nginx_queue": {0, 2, "", false},
	// Established flows forgotten after 60 s, before the 75 s keepalive
	// probe gap.
	"opschecks_conntrack": {0, 1, "tcp_timeout_established=60s;", true},
}

// newTestHosts makes the two hosts:
//   - net.ipv4.tcp_keepalive_time is 7200 (the kernel default) on the
//     server and 30 on the remote host;
//   - window scaling is off on the remote host only;
//   - both run nginx on port 80 (backlog 8); on the remote host its
//     worker is stopped and 9 connections fill the accept queue;
//   - the remote host is a stateful firewall (its flows are tracked) that
//     forgets idle established flows after 60 s, the server keeps the
//     kernel default of 5 days.
func newTestHosts(t *testing.T) *testHosts {
	t.Helper()
	h := &testHosts{server: testenv.NewNetns(t, "server"), remote: testenv.NewConntrackNetns(t, "remote"),
		serverState: nagiosDir(t), remoteState: nagiosDir(t)}
	testenv.Veth(t, h.server, serverIP+"/24", h.remote, remoteIP+"/24")
	h.server.Sysctl("net.ipv4.tcp_keepalive_time", "7200")
	h.remote.Sysctl("net.ipv4.tcp_keepalive_time", "30")
	h.remote.Sysctl("net.ipv4.tcp_window_scaling", "0")
	h.remote.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", "60")
	testenv.StartNginx(t, testenv.NginxOptions{Netns: h.server, Port: 80})
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: h.remote, Port: 80})
	ng.Signal(t, syscall.SIGSTOP)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// The kernel completes backlog+1 handshakes while the worker sleeps.
	err := h.remote.Do(func() error {
		for range 9 {
			c, err := net.DialTimeout("tcp", ng.Addr, 5*time.Second)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("filling nginx's accept queue on the remote host: %v", err)
	}
	return h
}

// localServices are the example services of the local checks, those
// whose example Icinga 2 service runs on the host's agent
// (command_endpoint), resolved to command lines.
func localServices(t *testing.T, root, bindir string) []nagiosService {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "packaging", "icinga2", "opschecks-services.conf"))
	if err != nil {
		t.Fatal(err)
	}
	onAgent := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)apply Service "([^"]+)" \{\n(.*?)\n\}`).FindAllStringSubmatch(string(b), -1) {
		onAgent[m[1]] = strings.Contains(m[2], "\tcommand_endpoint = host.vars.agent_endpoint\n")
	}
	for name := range remoteKernel {
		if !onAgent[name] {
			t.Fatalf("the example Icinga 2 service %s does not run on the agent (command_endpoint)", name)
		}
	}
	var local []nagiosService
	for _, s := range nagiosServices(t, root, bindir) {
		if onAgent[s.Name] {
			local = append(local, s)
		}
	}
	return local
}

// keepsState reports whether a check binary has --state-dir.
func keepsState(t *testing.T, bin string) bool {
	t.Helper()
	for _, o := range docOf(t, bin).Options {
		if o.Long == "state-dir" {
			return true
		}
	}
	return false
}

// withState is a command line with --state-dir dir when its binary keeps
// state.
func withState(t *testing.T, argv []string, dir string) []string {
	t.Helper()
	if !keepsState(t, argv[0]) {
		return argv
	}
	return append(append([]string{}, argv...), "--state-dir", dir)
}

// assertRemoteKernel checks that what the server recorded for a service
// of the remote host is the remote kernel's answer: the same as the
// command run by hand on the remote host before and after, and what
// remoteKernel expects there (which differs from the server's own).
func assertRemoteKernel(t *testing.T, h *testHosts, via string, name string, got, before, after, onServer result) {
	t.Helper()
	t.Logf("%s %s: %v", via, name, got)
	sameAsByHand(t, via+" "+name, got, before, after)
	want, ok := remoteKernel[name]
	if !ok {
		return
	}
	if got.Code != want.remote {
		t.Errorf("%s %s: state %s, want %s (the remote host's)", via, name, stateNames[got.Code%4], stateNames[want.remote])
	}
	if onServer.Code != want.server {
		t.Errorf("%s run by hand on the server: state %s, want %s; the hosts must differ\n%v", name, stateNames[onServer.Code%4], stateNames[want.server], onServer)
	}
	if !strings.Contains(got.Perf+" ", want.perf) {
		t.Errorf("%s %s: perfdata %q lacks the remote kernel's %s", via, name, got.Perf, want.perf)
	}
	if id := h.remote.ID(); want.namesNetns && !strings.Contains(got.Output, id) {
		t.Errorf("%s %s names another network namespace than the remote host's %s: %v", via, name, id, got)
	}
}

// An Icinga 2 master and an agent, each in its own namespace with its own
// icinga2 process, directories and certificate from the master's CA; the
// example services of opschecks-services.conf apply to both hosts, and
// for the agent's host command_endpoint sends them to the agent. The
// master's PerfdataWriter records, for the agent's host, results that
// the agent ran (check_source) and that show the agent's kernel, and for
// its own host the master's kernel.
func TestIcingaAgent(t *testing.T) {
	testenv.Require(t, "netns", "icinga2", "nginx")
	began := time.Now()
	root := testenv.ModuleRoot(t)
	bindir := binDir(t)
	h := newTestHosts(t)
	master := testenv.NewIcinga(t, h.server)
	agent := testenv.NewIcinga(t, h.remote)
	testenv.IssueCerts(t, master, map[string]*testenv.Icinga{"master": master, "agent": agent})
	commands := filepath.Join(root, "packaging", "icinga2", "opschecks-commands.conf")

	// The master (README, "Icinga 2"): the agent connects to it.
	master.WriteConfig("zones.conf", `object Endpoint "master" {}
object Zone "master" { endpoints = [ "master" ] }
object Endpoint "agent" {}
object Zone "agent" { endpoints = [ "agent" ]; parent = "master" }
`)
	// Each host's state directory is a host variable the CheckCommands'
	// --state-dir arguments resolve.
	stateVars := func(dir string) string {
		var b strings.Builder
		for _, c := range checkNames(t) {
			if keepsState(t, filepath.Join(bindir, c)) {
				fmt.Fprintf(&b, "\tvars.opschecks_%s_state_dir = %q\n", strings.TrimPrefix(c, "check_"), dir)
			}
		}
		return b.String()
	}
	// Objects the master checks live in its zone's directory, as the
	// documentation prescribes: a command_endpoint needs a zone.
	master.WriteConfig("zones.d/master/hosts.conf", fmt.Sprintf(`object Host NodeName {
	address = "127.0.0.1"
	check_command = "dummy"
	enable_active_checks = false
%s}
object Host "agent" {
	address = %q
	check_command = "cluster-zone"
	vars.agent_endpoint = name
%s}
`, stateVars(h.serverState), remoteIP, stateVars(h.remoteState)))
	master.WriteConfig("zones.d/master/services.conf", fastServices(t, root))
	master.WriteConfig("icinga2.conf", icingaNodeConfig("master", bindir, serverIP, "", master.PerfdataWriterConfig("")+fmt.Sprintf("include %q\n", commands)))

	// The agent: executes what the master sends (accept_commands) with
	// the CheckCommands included from the package's file.
	agent.WriteConfig("zones.conf", fmt.Sprintf(`object Endpoint "master" { host = %q; port = "5665" }
object Zone "master" { endpoints = [ "master" ] }
object Endpoint NodeName {}
object Zone ZoneName { endpoints = [ NodeName ]; parent = "master" }
`, serverIP))
	agent.WriteConfig("icinga2.conf", icingaNodeConfig("agent", bindir, remoteIP, "accept_commands = true; accept_config = true", fmt.Sprintf("include %q\n", commands)))
	for _, ic := range []*testenv.Icinga{master, agent} {
		if out, ok := ic.Validate(); !ok {
			t.Fatalf("icinga2 daemon -C:\n%s", out)
		}
	}

	svcs := localServices(t, root, bindir)
	before, onServer := map[string]result{}, map[string]result{}
	onRemote := func(argv []string) result { return runIn(t, h.remote, nil, withState(t, argv, h.remoteState)) }
	onServerNow := func(argv []string) result { return runIn(t, h.server, nil, withState(t, argv, h.serverState)) }
	for _, s := range svcs {
		before[s.Name] = onRemote(s.Argv)
		onServer[s.Name] = onServerNow(s.Argv)
	}

	master.Start()
	agent.Start()
	if !master.WaitLog("New client connection for identity 'agent'", 30*time.Second) {
		t.Fatalf("the agent did not connect to the master:\nagent:\n%s\nmaster:\n%s", agent.Log(), master.Log())
	}
	// The first real result of each service of each host: until the
	// agent connected, the master records UNKNOWN "not connected"
	// results for the agent's services.
	first := func(rs []testenv.IcingaResult, host string) map[string]testenv.IcingaResult {
		m := map[string]testenv.IcingaResult{}
		for _, r := range rs {
			if _, seen := m[r.Service]; !seen && r.Host == host && !strings.Contains(r.Output, "is not connected to") {
				m[r.Service] = r
			}
		}
		return m
	}
	res := master.WaitResults(60*time.Second, func(rs []testenv.IcingaResult) bool {
		onAgent, onMaster := first(rs, "agent"), first(rs, "master")
		for _, s := range svcs {
			if _, ok := onAgent[s.Name]; !ok {
				return false
			}
			if _, ok := onMaster[s.Name]; !ok {
				return false
			}
		}
		return true
	})
	master.Stop()
	agent.Stop()
	onAgent, onMaster := first(res, "agent"), first(res, "master")
	for host, m := range map[string]map[string]testenv.IcingaResult{"agent": onAgent, "master": onMaster} {
		for _, r := range m {
			if r.Source != host {
				t.Errorf("a service of the host %q ran on %q: %+v", host, r.Source, r)
			}
		}
	}
	for _, s := range svcs {
		after := onRemote(s.Argv)
		assertRemoteKernel(t, h, "icinga2 agent", s.Name, icingaResult(onAgent[s.Name]), before[s.Name], after, onServer[s.Name])
		// The same service of the master's own host ran on the master.
		sameAsByHand(t, "icinga2 master "+s.Name, icingaResult(onMaster[s.Name]), onServer[s.Name], onServerNow(s.Argv))
	}
	for _, ic := range []*testenv.Icinga{master, agent} {
		if strings.Contains(ic.Log(), "critical/") {
			t.Errorf("icinga2 logged a critical error:\n%s", ic.Log())
		}
	}
	t.Logf("took %v", time.Since(began))
}

// icingaNodeConfig is the icinga2.conf of a cluster node named name (its
// zone has the same name): the plugin directory, the ITL, zones.conf, the
// API listener on bindHost (with the attributes in api), the checker,
// then rest.
func icingaNodeConfig(name, pluginDir, bindHost, api, rest string) string {
	return fmt.Sprintf(`const NodeName = %[1]q
const ZoneName = %[1]q
const PluginDir = %[2]q
include <itl>
include <plugins>
include "zones.conf"
object ApiListener "api" { bind_host = %[3]q; %[4]s }
object CheckerComponent "checker" {}
%[5]s`, name, pluginDir, bindHost, api, rest)
}

// icingaResult splits an Icinga 2 result the way parseOutput splits a
// plugin's.
func icingaResult(r testenv.IcingaResult) result {
	first, rest, _ := strings.Cut(r.Output, "\n")
	return parseOutput(r.State, first+"|"+r.Perfdata+"\n"+rest)
}

// nrpe on the remote host, check_nrpe on the server, across the veth
// pair: TLS with certificates on both sides (Debian's nrpe speaks TLS by
// default; without certificates it uses anonymous Diffie-Hellman, which
// authenticates nobody, so the README's recipe configures them), the
// packaged snippet's fixed commands, dont_blame_nrpe=0. Every command
// answers with the remote kernel; arguments, clients without a
// certificate or without TLS, a server the client's CA did not sign and
// hosts outside allowed_hosts are refused.
func TestNRPEAcrossNamespaces(t *testing.T) {
	testenv.Require(t, "netns", "nrpe", "check_nrpe", "openssl", "nginx")
	began := time.Now()
	nrpe := testenv.Binary(t, "nrpe")
	checkNRPE := testenv.Binary(t, "check_nrpe")
	root := testenv.ModuleRoot(t)
	bindir := binDir(t)
	cred := nagiosCred(t)
	h := newTestHosts(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pki := nrpeCerts(t, dir, cred)

	// The packaged snippet, with the freshly built binaries and the
	// remote host's state directory.
	cmds := map[string][]string{}
	var snippet strings.Builder
	for name, line := range nrpeCommands(t, filepath.Join(root, "packaging", "nrpe", "opschecks.cfg")) {
		argv, err := splitWords(strings.ReplaceAll(line, "/usr/lib/nagios/plugins/", bindir+"/"))
		if err != nil {
			t.Fatal(err)
		}
		cmds[name] = argv
		fmt.Fprintf(&snippet, "command[%s]=%s\n", name, strings.Join(withState(t, argv, h.remoteState), " "))
	}
	mustWrite(t, filepath.Join(dir, "opschecks.cfg"), snippet.String())
	logFile := filepath.Join(dir, "nrpe.log")
	mustWrite(t, logFile, "")
	if err := os.Chown(logFile, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "nrpe.cfg")
	mustWrite(t, cfg, fmt.Sprintf(`log_file=%[1]s/nrpe.log
debug=1
pid_file=%[1]s/nrpe.pid
server_address=%[2]s
server_port=5666
nrpe_user=nagios
nrpe_group=nagios
allowed_hosts=%[3]s
dont_blame_nrpe=0
allow_bash_command_substitution=0
command_timeout=60
connection_timeout=60
ssl_version=TLSv1.2+
ssl_use_adh=0
ssl_cacert_file=%[4]s
ssl_cert_file=%[5]s
ssl_privatekey_file=%[6]s
ssl_client_certs=2
ssl_logging=0x0c
include=%[1]s/opschecks.cfg
`, dir, remoteIP, serverIP, pki.CA, pki.ServerCert, pki.ServerKey))
	d := testenv.StartDaemon(t, h.remote.Command(nrpe, "-c", cfg, "-f"), filepath.Join(dir, "nrpe.stdout"))
	waitListening(t, h.server, remoteIP+":5666", d, logFile)

	clientTLS := []string{"-A", pki.CA, "-C", pki.ClientCert, "-K", pki.ClientKey}
	ask := func(from *testenv.Netns, tls []string, args ...string) result {
		argv := append([]string{checkNRPE, "-H", remoteIP, "-p", "5666", "-t", "60"}, tls...)
		return runIn(t, from, nil, append(argv, args...))
	}
	for _, s := range localServices(t, root, bindir) {
		argv, ok := cmds[s.Name]
		if !ok {
			t.Errorf("the NRPE snippet has no command %s", s.Name)
			continue
		}
		asNRPE := withState(t, argv, h.remoteState)
		before := runIn(t, h.remote, cred, asNRPE)
		got := ask(h.server, clientTLS, "-c", s.Name)
		after := runIn(t, h.remote, cred, asNRPE)
		assertRemoteKernel(t, h, "check_nrpe", s.Name, got, before, after, runIn(t, h.server, cred, withState(t, argv, h.serverState)))
	}
	if log := readLog(logFile); !strings.Contains(log, "SSL Version: TLSv1.") {
		t.Errorf("nrpe did not log a TLS connection (ssl_logging):\n%s", log)
	}

	refused := func(what string, r result) {
		t.Helper()
		t.Logf("%s: %v", what, r)
		if r.Code == 0 || strings.Contains(r.Output, "KEEPALIVE") {
			t.Errorf("%s: nrpe answered: %v", what, r)
		}
	}
	// With dont_blame_nrpe=0 (and Debian's nrpe built without argument
	// support) a request with arguments runs nothing.
	refused("arguments", ask(h.server, clientTLS, "-c", "opschecks_keepalive", "-a", "--idle-timeout", "1h"))
	refused("no client certificate", ask(h.server, []string{"-A", pki.CA}, "-c", "opschecks_keepalive"))
	refused("no TLS", ask(h.server, []string{"-n"}, "-c", "opschecks_keepalive"))
	other := nrpeCerts(t, t.TempDir(), cred)
	refused("a client certificate from another CA", ask(h.server, []string{"-A", pki.CA, "-C", other.ClientCert, "-K", other.ClientKey}, "-c", "opschecks_keepalive"))
	// check_nrpe verifies the server's certificate against -A.
	refused("a server certificate from another CA", ask(h.server, []string{"-A", other.CA, "-C", pki.ClientCert, "-K", pki.ClientKey}, "-c", "opschecks_keepalive"))
	refused("a host not in allowed_hosts", ask(h.remote, clientTLS, "-c", "opschecks_keepalive"))

	d.Stop()
	log := readLog(logFile)
	for _, want := range []string{"Request contained command arguments", "Could not complete SSL handshake with " + serverIP, "Host " + remoteIP + " is not allowed to talk to us"} {
		if !strings.Contains(log, want) {
			t.Errorf("the nrpe log lacks %q:\n%s", want, log)
		}
	}
	t.Logf("took %v", time.Since(began))
}

// nagiosCred is the nagios user (Debian's nagios-nrpe-server creates it).
func nagiosCred(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("nagios")
	if err != nil {
		testenv.Missing(t, "no nagios user (Debian's nagios-nrpe-server creates it): %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("user nagios: uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// nagiosDir is a new directory owned by the nagios user, which runs the
// checks through nrpe (t.TempDir's parent is closed to other users).
func nagiosDir(t *testing.T) string {
	t.Helper()
	cred := nagiosCred(t)
	return testenv.OwnedDir(t, cred.Uid, cred.Gid)
}

// nrpeTLS are the PEM files of the NRPE recipe.
type nrpeTLS struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// nrpeCerts runs the README's NRPE certificate recipe in dir: a CA, a
// server certificate for the monitored host's address and a client
// certificate for the Nagios server, all signed by the CA; the server's
// key belongs to the nagios user nrpe runs as.
func nrpeCerts(t *testing.T, dir string, nagios *syscall.Credential) nrpeTLS {
	t.Helper()
	p := func(n string) string { return filepath.Join(dir, n) }
	openssl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ec := []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"}
	openssl(append(append([]string{"req", "-x509"}, ec...), "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "3650", "-subj", "/CN=nrpe CA")...)
	for _, c := range []struct{ name, subj, ext string }{
		{"server", "/CN=" + remoteIP, "subjectAltName=IP:" + remoteIP + "\nextendedKeyUsage=serverAuth\n"},
		{"client", "/CN=nagios-server", "extendedKeyUsage=clientAuth\n"},
	} {
		mustWrite(t, p(c.name+".ext"), c.ext)
		openssl(append(append([]string{"req"}, ec...), "-keyout", p(c.name+".key"), "-out", p(c.name+".csr"), "-subj", c.subj)...)
		openssl("x509", "-req", "-in", p(c.name+".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
			"-days", "825", "-extfile", p(c.name+".ext"), "-out", p(c.name+".pem"))
	}
	if err := os.Chown(p("server.key"), int(nagios.Uid), int(nagios.Gid)); err != nil {
		t.Fatal(err)
	}
	return nrpeTLS{CA: p("ca.pem"), ServerCert: p("server.pem"), ServerKey: p("server.key"), ClientCert: p("client.pem"), ClientKey: p("client.key")}
}
