package hardening

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestContractStates: the output contract (first line, perfdata, exit code
// matching the state word) on OK, WARNING and CRITICAL answers, from real
// targets: a loopback listener, this host's /proc and sysctls, a real
// process judged against the 2-node fixture topology, and FerretDB.
// UNKNOWN answers are held to it by TestBadInputMatrix and TestFaults.
// (check_keepalive's and check_tcp_window's WARNING need a namespace with
// its own sysctls or a middlebox; their cmd tests produce them.)
func TestContractStates(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	stateDir := t.TempDir()
	host2 := filepath.Join(testenv.ModuleRoot(t), "internal", "numa", "testdata", "host2")
	sleep := strconv.Itoa(plainProcess(t))
	mongo := strconv.Itoa(testenv.StartFerretDB(t, testenv.FerretDBOptions{}).Port)

	for _, tc := range []struct {
		bin   string
		args  []string
		state string
	}{
		{"check_nginx_queue", []string{"--port", port, "--state-dir", stateDir}, "OK"},
		{"check_nginx_queue", []string{"--port", port, "--state-dir", stateDir, "-w", "@0:0"}, "WARNING"},
		{"check_nginx_queue", []string{"--port", port, "--state-dir", stateDir, "-c", "@0:0"}, "CRITICAL"},
		{"check_numa", []string{"--state-dir", stateDir}, "OK"},
		{"check_numa", []string{"--state-dir", stateDir, "--sysfs", filepath.Join(host2, "sys"), "--pid", sleep}, "WARNING"},
		{"check_numa", []string{"--state-dir", stateDir, "--require-numa"}, "CRITICAL"},
		{"check_keepalive", []string{"--idle-timeout", "3h", "--port", port}, "OK"},
		{"check_keepalive", []string{"--idle-timeout", "90s"}, "CRITICAL"}, // this host's 7200 s
		{"check_tcp_window", []string{"--local"}, "OK"},
		{"check_tcp_window", []string{"-H", "127.0.0.1", "-p", port}, "OK"},
		{"check_tcp_window", []string{"-H", "127.0.0.1", "-p", closedPort(t)}, "CRITICAL"},
		{"check_conntrack", []string{"--state-dir", stateDir}, "OK"}, // this host's table
		{"check_conntrack", []string{"--state-dir", stateDir, "-w", "@0:100"}, "WARNING"},
		{"check_conntrack", []string{"--state-dir", stateDir, "-c", "@0:100"}, "CRITICAL"},
		{"check_mongodb", []string{"-P", mongo, "-w", "5", "-c", "9"}, "OK"},
		{"check_mongodb", []string{"-P", mongo, "-w", "0:0", "-c", "9"}, "WARNING"},
		{"check_mongodb", []string{"-P", mongo, "-w", "0:0", "-c", "0:0"}, "CRITICAL"},
	} {
		t.Run(tc.bin+"/"+tc.state, func(t *testing.T) {
			b := byName(t, tc.bin)
			r := testenv.RunCheck(t, b.path, nil, tc.args...)
			if st := testenv.AssertContract(t, b.doc.Label, r); st != tc.state {
				t.Errorf("%q: state %s, want %s: %q", tc.args, st, tc.state, r.FirstLine())
			}
		})
	}
}

// plainProcess starts a sleep without a NUMA policy and waits until it
// runs as sleep (its numa_maps is then sleep's own).
func plainProcess(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	comm := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "comm")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(comm); strings.TrimSpace(string(b)) == "sleep" {
			return cmd.Process.Pid
		}
	}
	t.Fatal("sleep did not start")
	return 0
}
