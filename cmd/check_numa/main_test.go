package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// fixture is the absolute path of a fixture tree of internal/numa.
func fixture(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testenv.ModuleRoot(t), "internal", "numa", "testdata", name)
}

// startNamed starts a process and waits until its comm is name.
func startNamed(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %q: %v", args, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	// numactl sets the policy, then execs the command: wait for the exec.
	for i := 0; i < 200; i++ {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == name {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%q did not become %s within 2 s", args, name)
	return 0
}

// startSleep starts a real sleep (optionally under numactl) and kills it
// at cleanup.
func startSleep(t *testing.T, args ...string) int {
	t.Helper()
	return startNamed(t, "sleep", args...)
}

// oneLine checks the contract for error answers: one stdout line, the
// exit code, nothing on stderr.
func oneLine(t *testing.T, r testenv.Run, code int, want ...string) {
	t.Helper()
	if r.Code != code || strings.Count(r.Stdout, "\n") != 1 || r.Stderr != "" {
		t.Errorf("want exit %d with one line and no stderr, got %d:\n%s\nstderr: %q", code, r.Code, r.Stdout, r.Stderr)
	}
	testenv.AssertContract(t, "NUMA", r)
	for _, w := range want {
		if !strings.Contains(r.FirstLine(), w) {
			t.Errorf("output lacks %q: %s", w, r.FirstLine())
		}
	}
}

// TestRealProcesses reads the real /proc/PID/numa_maps of a process
// started under `numactl --interleave=all` and of a plain one, judged
// against the 2-node fixture topology (this machine has one node).
func TestRealProcesses(t *testing.T) {
	numactl := testenv.Binary(t, "numactl")
	bin := testenv.BuildCheck(t, "check_numa")
	interleaved := startSleep(t, numactl, "--interleave=all", "sleep", "60")
	plain := startSleep(t, "sleep", "60")
	bound := startSleep(t, numactl, "--membind=0", "sleep", "60")
	preferred := startSleep(t, numactl, "--preferred=0", "sleep", "60")
	base := []string{"--sysfs", filepath.Join(fixture(t, "host2"), "sys")}

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"interleaved", []string{"--pid", strconv.Itoa(interleaved)}, 0,
			[]string{"NUMA OK - 2 NUMA nodes - 1 of 1 process interleaved -", fmt.Sprintf("[OK] sleep (PID %d): memory policy interleave:", interleaved), "interleaved=100%"}},
		{"plain", []string{"--pid", strconv.Itoa(plain)}, 1,
			[]string{fmt.Sprintf("NUMA WARNING - sleep (PID %d) is not interleaved (memory policy default) -", plain), "numactl --interleave=all <command>", "interleaved=0%"}},
		{"plain critical", []string{"--pid", strconv.Itoa(plain), "--policy-state", "critical"}, 2,
			[]string{fmt.Sprintf("NUMA CRITICAL - sleep (PID %d) is not interleaved", plain)}},
		{"both", []string{"--pid", strconv.Itoa(interleaved), "--pid", strconv.Itoa(plain)}, 1,
			[]string{"1 of 2 processes interleaved", "interleaved=50%"}},
		// numactl --membind=0: a single-node bind, accepted only with --allow-bind.
		{"bound", []string{"--pid", strconv.Itoa(bound)}, 1,
			[]string{fmt.Sprintf("NUMA WARNING - sleep (PID %d) is not interleaved (bound to node 0) -", bound), "pass --allow-bind"}},
		{"bound allowed", []string{"--pid", strconv.Itoa(bound), "--allow-bind"}, 0,
			[]string{fmt.Sprintf("[OK] sleep (PID %d): bound to node 0 (allowed by --allow-bind)", bound)}},
		{"preferred", []string{"--pid", strconv.Itoa(preferred), "--allow-bind"}, 1,
			[]string{fmt.Sprintf("NUMA WARNING - sleep (PID %d) is not interleaved (prefers node 0) -", preferred)}},
		// --distribution parses every line of the real numa_maps.
		{"distribution interleaved", []string{"--pid", strconv.Itoa(interleaved), "--distribution"}, 0,
			[]string{"interleaved_pages=100%", "resident in", "imbalance=0%"}},
		{"distribution plain", []string{"--pid", strconv.Itoa(plain), "--distribution"}, 2,
			[]string{"pages 100.0% imbalanced over nodes 0-1", "interleaved_pages=0%", "imbalance=100%;20;50;0;100", "proc_node1=0B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"--state-dir", t.TempDir()}, base...), tt.args...)
			r := testenv.RunCheck(t, bin, nil, args...)
			if r.Code != tt.code || r.Stderr != "" {
				t.Errorf("exit %d (want %d), stderr %q:\n%s", r.Code, tt.code, r.Stderr, r.Stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.Stdout)
				}
			}
		})
	}

	// The old options, naming the directories that hold sys/ and proc/,
	// still work for one release.
	t.Run("deprecated --sysfs-root and --procfs-root", func(t *testing.T) {
		r := testenv.RunCheck(t, bin, nil, "--state-dir", t.TempDir(), "--sysfs-root", fixture(t, "host2"), "--procfs-root", "/", "--pid", strconv.Itoa(interleaved))
		if r.Code != 0 || !strings.Contains(r.Stdout, "NUMA OK - 2 NUMA nodes - 1 of 1 process interleaved -") {
			t.Errorf("exit %d\n%s", r.Code, r.Stdout)
		}
	})

	t.Run("pidfile", func(t *testing.T) {
		pf := filepath.Join(t.TempDir(), "sleep.pid")
		if err := os.WriteFile(pf, []byte(strconv.Itoa(interleaved)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := testenv.RunCheck(t, bin, nil, append(base, "--state-dir", t.TempDir(), "--pidfile", pf)...)
		if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("sleep (PID %d): memory policy interleave", interleaved)) {
			t.Errorf("--pidfile: exit %d\n%s", r.Code, r.Stdout)
		}
	})

	t.Run("process by name", func(t *testing.T) {
		// A copy of sleep under a name of our own, so --process matches
		// only the processes this test started (comm is cut at 15 bytes).
		dir := t.TempDir()
		good, bad := fmt.Sprintf("ocnI%d", os.Getpid()%1000000), fmt.Sprintf("ocnP%d", os.Getpid()%1000000)
		sleep, err := exec.LookPath("sleep")
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(sleep)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{good, bad} {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		p1 := startNamed(t, good, numactl, "--interleave=all", filepath.Join(dir, good), "60")
		p2 := startNamed(t, good, filepath.Join(dir, good), "60")
		p3 := startNamed(t, bad, filepath.Join(dir, bad), "60")
		r := testenv.RunCheck(t, bin, nil, append(base, "--state-dir", t.TempDir(), "--process", bad)...)
		if r.Code != 1 || !strings.Contains(r.Stdout, fmt.Sprintf("%s (PID %d) is not interleaved (memory policy default)", bad, p3)) || !strings.Contains(r.Stdout, "0 of 1 process interleaved") {
			t.Errorf("--process %s: exit %d\n%s", bad, r.Code, r.Stdout)
		}
		r = testenv.RunCheck(t, bin, nil, append(base, "--state-dir", t.TempDir(), "--process", good)...)
		if r.Code != 1 || !strings.Contains(r.Stdout, "1 of 2 processes interleaved") ||
			!strings.Contains(r.Stdout, fmt.Sprintf("[OK] %s (PID %d): memory policy interleave:", good, p1)) ||
			!strings.Contains(r.Stdout, fmt.Sprintf("%s (PID %d) is not interleaved", good, p2)) {
			t.Errorf("--process %s: exit %d\n%s", good, r.Code, r.Stdout)
		}
	})

	t.Run("no such pid", func(t *testing.T) {
		gone := exec.Command("true")
		if err := gone.Run(); err != nil {
			t.Fatal(err)
		}
		pid := gone.ProcessState.Pid()
		r := testenv.RunCheck(t, bin, nil, append(base, "--pid", strconv.Itoa(pid))...)
		oneLine(t, r, 2, fmt.Sprintf("NUMA CRITICAL - no process with PID %d is running", pid))
	})

	t.Run("process not running", func(t *testing.T) {
		name := fmt.Sprintf("ocnuma%d", os.Getpid())
		r := testenv.RunCheck(t, bin, nil, append(base, "--process", name)...)
		oneLine(t, r, 2, fmt.Sprintf("NUMA CRITICAL - no process named %q is running", name))
	})

	t.Run("pid file of a process that exited", func(t *testing.T) {
		gone := exec.Command("true")
		if err := gone.Run(); err != nil {
			t.Fatal(err)
		}
		pf := filepath.Join(t.TempDir(), "dead.pid")
		if err := os.WriteFile(pf, []byte(strconv.Itoa(gone.ProcessState.Pid())+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := testenv.RunCheck(t, bin, nil, append(base, "--pidfile", pf)...)
		oneLine(t, r, 2, fmt.Sprintf("NUMA CRITICAL - pid file %s names PID %d, which is not running: the service is down", pf, gone.ProcessState.Pid()))
	})
}

// TestRealSingleNode runs the default check against the real /sys.
func TestRealSingleNode(t *testing.T) {
	online, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		testenv.Missing(t, "no /sys/devices/system/node/online: %v", err)
	}
	if s := strings.TrimSpace(string(online)); s != "0" {
		testenv.Missing(t, "the test needs a one-node machine; this one has nodes %s", s)
	}
	meminfo, err := os.ReadFile("/sys/devices/system/node/node0/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, l := range strings.Split(string(meminfo), "\n") {
		if f := strings.Fields(l); len(f) == 5 && f[2] == "MemTotal:" {
			total, _ = strconv.ParseInt(f[3], 10, 64)
		}
	}
	bin := testenv.BuildCheck(t, "check_numa")
	r := testenv.RunCheck(t, bin, nil)
	want := fmt.Sprintf("NUMA OK - not a NUMA machine (1 node) | nodes=1;;;1 node0_free=")
	if r.Code != 0 || r.Stderr != "" || !strings.HasPrefix(r.FirstLine(), want) ||
		!strings.Contains(r.FirstLine(), fmt.Sprintf("node0_total=%dB", total*1024)) {
		t.Errorf("exit %d, stderr %q:\n%s", r.Code, r.Stderr, r.Stdout)
	}
	// --require-numa turns the same machine into a CRITICAL.
	r = testenv.RunCheck(t, bin, nil, "--require-numa")
	if r.Code != 2 || !strings.HasPrefix(r.FirstLine(), "NUMA CRITICAL - not a NUMA machine (1 node), but --require-numa was given") {
		t.Errorf("--require-numa: exit %d\n%s", r.Code, r.Stdout)
	}
}

// TestUnprivileged runs the check as an unprivileged user against a
// process of root: numa_maps is not readable, and the answer says why.
func TestUnprivileged(t *testing.T) {
	testenv.Require(t, "root")
	bin := testenv.BuildCheck(t, "check_numa")
	uid, gid := addUser(t)
	pid := startSleep(t, "sleep", "60")
	stateDir := t.TempDir()
	if err := os.Chown(stateDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--sysfs", filepath.Join(fixture(t, "host2"), "sys"), "--state-dir", stateDir, "--pid", strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	oneLine(t, testenv.RunCmd(t, cmd), 3,
		fmt.Sprintf("NUMA UNKNOWN - cannot read /proc/%d/numa_maps: permission denied", pid),
		"owner of the process", "sudoers rule in packaging/")
}

// addUser creates a throw-away system user and deletes it at cleanup.
func addUser(t *testing.T) (uid, gid int) {
	t.Helper()
	useradd := testenv.Binary(t, "useradd")
	name := fmt.Sprintf("ocnuma%d", os.Getpid()%100000)
	var out []byte
	var err error
	for i := 0; i < 20; i++ { // /etc/passwd may be locked by a parallel useradd
		out, err = exec.Command(useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	id := func(flag string) int {
		b, err := exec.Command("id", flag, name).Output()
		if err != nil {
			t.Fatalf("id %s %s: %v", flag, name, err)
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	return id("-u"), id("-g")
}

// TestBadInput checks that every bad option gives one UNKNOWN line that
// says what was expected.
func TestBadInput(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_numa")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--pid", "abc"}, `invalid --pid "abc": expected a process ID from 1 to 4194303`},
		{[]string{"--pid", "0"}, `invalid --pid "0"`},
		{[]string{"--pid", "4194304"}, `invalid --pid "4194304": expected a process ID from 1 to 4194303`},
		{[]string{"-w", "5:1"}, "NUMA UNKNOWN - "},
		{[]string{"--miss-critical", "x"}, "NUMA UNKNOWN - "},
		{[]string{"--policy-state", "ok"}, `invalid --policy-state "ok": expected warning or critical`},
		{[]string{"--sysfs", "/nonexistent"}, "/nonexistent is not a sysfs tree"},
		{[]string{"--sysfs-root", "/nonexistent"}, "/nonexistent/sys is not a sysfs tree"},
		{[]string{"--sysfs", ""}, `invalid --sysfs "": expected DIR, not an empty value`},
		{[]string{"--sysfs-root", "/", "--sysfs", "/sys2"}, "--sysfs-root is the old spelling of --sysfs (DIR/sys): give one of them"},
		// The new option given with its default value is still given.
		{[]string{"--sysfs", "/sys", "--sysfs-root", "/"}, "--sysfs-root is the old spelling of --sysfs (DIR/sys): give one of them"},
		{[]string{"--procfs", "/proc", "--procfs-root", "/"}, "--procfs-root is the old spelling of --procfs (DIR/proc): give one of them"},
		{[]string{"--procfs-root", "/", "--procfs=/proc"}, "--procfs-root is the old spelling of --procfs (DIR/proc): give one of them"},
		{[]string{"--pidfile", t.TempDir()}, "cannot read "},
		{[]string{"--bogus"}, "unknown flag"},
	}
	for _, tt := range tests {
		r := testenv.RunCheck(t, bin, nil, tt.args...)
		oneLine(t, r, 3, "NUMA UNKNOWN - ", tt.want)
	}
}
