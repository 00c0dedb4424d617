package hardening

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// A check that runs out of time answers within -t plus a small margin,
// with the timeout state, and never says OK.
const timeoutArg = "2"
const answerBound = 2*time.Second + 700*time.Millisecond

func byName(t *testing.T, name string) binary {
	t.Helper()
	for _, b := range allBinaries(t) {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("%s was not built", name)
	return binary{}
}

type fault struct {
	name  string
	bin   string
	args  func(t *testing.T) []string
	state string // expected state word; "" means any but OK
	timed bool   // the case runs into the timeout
}

func TestFaults(t *testing.T) {
	cases := []fault{
		{"mongodb silent peer", "check_mongodb", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-P", silentPeer(t).port()}
		}, "UNKNOWN", true},
		{"mongodb silent peer, timeout-state critical", "check_mongodb", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-P", silentPeer(t).port(), "--timeout-state", "critical"}
		}, "CRITICAL", true},
		{"mongodb peer closes at once", "check_mongodb", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-P", closingPeer(t).port()}
		}, "CRITICAL", false},
		{"mongodb closed port", "check_mongodb", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-P", closedPort(t)}
		}, "CRITICAL", false},
		{"tcp_window silent peer with --expect", "check_tcp_window", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-p", silentPeer(t).port(), "--send", "hello\n", "--expect", "+OK"}
		}, "UNKNOWN", true},
		{"tcp_window peer closes at once with --expect", "check_tcp_window", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-p", closingPeer(t).port(), "--expect", "+OK"}
		}, "", false},
		{"tcp_window closed port", "check_tcp_window", func(t *testing.T) []string {
			return []string{"-H", "127.0.0.1", "-p", closedPort(t)}
		}, "CRITICAL", false},
		{"nginx stub_status stalls mid-body", "check_nginx_queue", func(t *testing.T) []string {
			p := stallingStatus(t)
			return []string{"--port", p.port(), "--status-url", "http://127.0.0.1:" + p.port() + "/status", "--state-dir", t.TempDir()}
		}, "UNKNOWN", true},
		{"nginx stub_status silent", "check_nginx_queue", func(t *testing.T) []string {
			p := silentPeer(t)
			return []string{"--port", p.port(), "--status-url", "http://127.0.0.1:" + p.port() + "/status", "--state-dir", t.TempDir()}
		}, "UNKNOWN", true},
		{"nginx stub_status closes at once", "check_nginx_queue", func(t *testing.T) []string {
			p := closingPeer(t)
			return []string{"--port", p.port(), "--status-url", "http://127.0.0.1:" + p.port() + "/status", "--state-dir", t.TempDir()}
		}, "", false},
		{"numa process gone between listing and reading", "check_numa", func(t *testing.T) []string {
			// A /proc where the process is listed but its files are gone,
			// as when it exits while the check looks: the service is down.
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "proc", "4242"), 0o755); err != nil {
				t.Fatal(err)
			}
			return []string{"--procfs", filepath.Join(root, "proc"), "--pid", "4242", "--state-dir", t.TempDir()}
		}, "CRITICAL", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := byName(t, tc.bin)
			args := append(tc.args(t), "-t", timeoutArg)
			r := testenv.RunCheck(t, b.path, nil, args...)
			st := testenv.AssertContract(t, b.doc.Label, r)
			if st == "OK" {
				t.Fatalf("a fault gave OK: %q", r.Stdout)
			}
			if tc.state != "" && st != tc.state {
				t.Errorf("state %s, want %s: %q", st, tc.state, r.FirstLine())
			}
			if r.Elapsed > answerBound {
				t.Errorf("answered after %v, want within -t %ss plus a margin (%v)", r.Elapsed, timeoutArg, answerBound)
			}
			if tc.timed && !strings.Contains(strings.ToLower(r.Stdout), "timed out") && !strings.Contains(strings.ToLower(r.Stdout), "timeout") {
				t.Errorf("a timeout that does not say so: %q", r.FirstLine())
			}
		})
	}
}

// TestBlackhole: an address whose packets are dropped (a DROP rule inside
// a namespace the test made) gives the timeout state, on time.
func TestBlackhole(t *testing.T) {
	testenv.Require(t, "netns", "iptables")
	ns := testenv.NewNetns(t, "bh")
	ns.MustRun("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "27099", "-j", "DROP")
	for _, tc := range []struct {
		bin  string
		args []string
	}{
		{"check_mongodb", []string{"-H", "127.0.0.1", "-P", "27099"}},
		{"check_tcp_window", []string{"-H", "127.0.0.1", "-p", "27099"}},
	} {
		t.Run(tc.bin, func(t *testing.T) {
			b := byName(t, tc.bin)
			cmd := ns.Command(b.path, append(tc.args, "-t", timeoutArg)...)
			r := testenv.RunCmd(t, cmd)
			if st := testenv.AssertContract(t, b.doc.Label, r); st != "UNKNOWN" {
				t.Errorf("state %s, want the timeout state UNKNOWN: %q", st, r.FirstLine())
			}
			if r.Elapsed > answerBound+300*time.Millisecond { // ip netns exec adds a little
				t.Errorf("answered after %v", r.Elapsed)
			}
		})
	}
}
