package linux_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/testenv"
)

func ownNetns(t *testing.T) string {
	t.Helper()
	id, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOpenNetnsOwn: our own namespace, asked for as 0 or by our PID, is
// not opened and Do runs the function where we are.
func TestOpenNetnsOwn(t *testing.T) {
	own := ownNetns(t)
	for _, pid := range []int{0, os.Getpid()} {
		ns, err := linux.Host.OpenNetns(pid)
		if err != nil {
			t.Fatalf("OpenNetns(%d): %v", pid, err)
		}
		if ns.FD != 0 || !ns.Own() || ns.ID != own {
			t.Errorf("OpenNetns(%d) = %+v, want FD 0 and ID %s", pid, *ns, own)
		}
		if inside := insideOf(t, ns); inside != own {
			t.Errorf("OpenNetns(%d).Do ran in %s, want %s", pid, inside, own)
		}
		ns.Close()
	}
}

// insideOf is the namespace that ns.Do runs its function in.
func insideOf(t *testing.T, ns *linux.Netns) string {
	t.Helper()
	var inside string
	if err := ns.Do(func() error {
		var err error
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return inside
}

// startIn starts a sleep inside the namespace and waits until it runs
// there: `ip netns exec` enters the namespace and then execs the command
// in the same process.
func startIn(t *testing.T, n *testenv.Netns) int {
	t.Helper()
	cmd := n.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p, err := linux.Host.ReadProcess(pid); err == nil && p.Comm == "sleep" {
			return pid
		}
	}
	t.Fatalf("PID %d did not become sleep inside netns %s", pid, n.Name)
	return 0
}

// TestOpenNetnsOther: a process in another namespace gives an open
// namespace that Do enters, and back out of it afterwards.
func TestOpenNetnsOther(t *testing.T) {
	own := ownNetns(t)
	pid := startIn(t, testenv.NewNetns(t, "open"))
	want, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", "net"))
	if err != nil {
		t.Fatal(err)
	}

	ns, err := linux.Host.OpenNetns(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if ns.FD <= 0 || ns.Own() || ns.ID == own || ns.ID != want {
		t.Fatalf("OpenNetns(%d) = %+v, want an open FD and ID %s (ours is %s)", pid, *ns, want, own)
	}
	if inside := insideOf(t, ns); inside != want {
		t.Errorf("Do ran in %s, want %s", inside, want)
	}
	sentinel := errors.New("from fn")
	if err := ns.Do(func() error { return sentinel }); err != sentinel {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	if got := ownNetns(t); got != own {
		t.Errorf("after Do we are in %s, want %s", got, own)
	}
	ns.Close()
	if ns.FD != 0 {
		t.Errorf("FD %d after Close, want 0", ns.FD)
	}
}

// TestGroupByNetns groups our PID and two processes in another namespace,
// and leaves out a process that has exited only when asked to.
func TestGroupByNetns(t *testing.T) {
	n := testenv.NewNetns(t, "group")
	a, b := startIn(t, n), startIn(t, n)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := gone.Process.Pid

	groups, err := linux.Host.GroupByNetns([]int{a, os.Getpid(), dead, b}, true)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(a), "ns", "net"))
	want := []linux.NetnsGroup{{ID: other, PIDs: []int{a, b}}, {ID: ownNetns(t), PIDs: []int{os.Getpid()}}}
	if !slices.EqualFunc(groups, want, func(x, y linux.NetnsGroup) bool { return x.ID == y.ID && slices.Equal(x.PIDs, y.PIDs) }) {
		t.Errorf("GroupByNetns = %+v, want %+v", groups, want)
	}

	_, err = linux.Host.GroupByNetns([]int{a, dead}, false)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), strconv.Itoa(dead)+"/ns/net") {
		t.Errorf("GroupByNetns with an exited PID: %v, want an error naming its ns link", err)
	}
}

// TestFindProcesses runs on a fixture /proc whose PIDs sort differently
// as text and as numbers.
func TestFindProcesses(t *testing.T) {
	root := t.TempDir()
	for _, p := range []struct{ pid, stat string }{
		{"1003", "1003 (mysvc) S 998 1003 1003 0"},
		{"998", "998 (mysvc) S 1 998 998 0"},
		{"1004", "1004 (other) S 1 1004 1004 0"},
	} {
		dir := filepath.Join(root, "proc", p.pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(p.stat+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := linux.Under(root)

	ps, err := f.FindProcesses("mysvc")
	if err != nil {
		t.Fatal(err)
	}
	if got := linux.PIDs(ps); !slices.Equal(got, []int{998, 1003}) {
		t.Errorf("FindProcesses(mysvc) PIDs %v, want [998 1003]", got)
	}
	if ps[1].PPID != 998 {
		t.Errorf("PPID of 1003 is %d, want 998", ps[1].PPID)
	}
	// None running is a fact, not an error: its state is target's policy.
	if ps, err := f.FindProcesses("nosuch"); err != nil || len(ps) != 0 {
		t.Fatalf("FindProcesses(nosuch): %v, %v", ps, err)
	}
}

// TestOpenNetnsFile: a namespace made by ip netns, opened from
// /run/netns/NAME, is entered by Do; its /proc/net files are read from
// inside (ReadNet), and a file that is no namespace is refused.
func TestOpenNetnsFile(t *testing.T) {
	n := testenv.NewNetns(t, "file")
	ns, err := linux.Host.OpenNetnsFile("/run/netns/" + n.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	want := strings.TrimSpace(n.MustRun("readlink", "/proc/self/ns/net"))
	if ns.Own() || ns.ID != want || ns.Path != "/run/netns/"+n.Name {
		t.Fatalf("OpenNetnsFile = %+v, want ID %s", *ns, want)
	}
	if inside := insideOf(t, ns); inside != want {
		t.Errorf("Do ran in %s, want %s", inside, want)
	}
	// A fresh namespace has only lo: its dev file lists lo, ours more.
	b, path, err := linux.Host.ReadNet(ns, "dev")
	if err != nil || path != "/proc/thread-self/net/dev" {
		t.Fatalf("ReadNet: %q, %v", path, err)
	}
	if strings.Count(string(b), ":") != 1 || !strings.Contains(string(b), "lo:") {
		t.Errorf("/proc/net/dev inside %s lists more than lo:\n%s", n.Name, b)
	}
	self, err := linux.Host.OpenNetnsFile("/proc/self/ns/net")
	if err != nil || !self.Own() {
		t.Errorf("our own namespace by its file: %+v, %v", self, err)
	}
	for _, bad := range []string{"/etc/hostname", "/proc/self/ns/uts", "/run/netns/opschecks-no-such"} {
		if _, err := linux.Host.OpenNetnsFile(bad); err == nil {
			t.Errorf("OpenNetnsFile(%s) opened", bad)
		}
	}
}
