package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runLimit bounds one run of a measured process.
const runLimit = 60 * time.Second

// spawner forks the measured processes from the namespace's thread, with
// syscall.ForkExec and wait4 directly: wait4 hands back the child's own
// rusage (CPU time) and nothing of os/exec's goroutines or pipes runs
// during the measurement.
type spawner struct {
	ns      *nsThread
	env     []string
	devnull *os.File
}

// outcome is one run.
type outcome struct {
	Wall      time.Duration
	User, Sys time.Duration
	Code      int // exit code, or 128+signal
	HWMKB     int64
}

func (o outcome) CPU() time.Duration { return o.User + o.Sys }

// run runs argv once with stdout and stderr to out (or /dev/null).
//
// Peak RSS is not taken from rusage: ru_maxrss of a child started by Go
// (vfork, then exec) keeps the high-water mark of the parent's memory that
// the child shared until exec, so every child would "use" at least the
// harness's own RSS (check_dummy: 54 MB instead of 1.7 MB here). With
// trace set, the child runs under ptrace, stops once as it exits, and
// VmHWM of its own address space is read from /proc then. Tracing costs
// two extra stops, so traced runs are used for RSS only, never for time.
func (s *spawner) run(argv []string, out *os.File, trace bool) (outcome, error) {
	var o outcome
	var err error
	s.ns.Do(func() { o, err = s.runHere(argv, out, trace) })
	return o, err
}

func (s *spawner) runHere(argv []string, out *os.File, trace bool) (outcome, error) {
	var o outcome
	if out == nil {
		out = s.devnull
	}
	attr := &syscall.ProcAttr{
		Env:   s.env,
		Files: []uintptr{s.devnull.Fd(), out.Fd(), out.Fd()},
		Sys:   &syscall.SysProcAttr{Ptrace: trace, Setpgid: true},
	}
	start := time.Now()
	pid, err := syscall.ForkExec(argv[0], argv, attr)
	if err != nil {
		return o, fmt.Errorf("starting %s: %v", argv[0], err)
	}
	// A hung process is killed, with its process group, so a run is bounded.
	killer := time.AfterFunc(runLimit, func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	defer killer.Stop()
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	if trace {
		// First stop: SIGTRAP after exec.
		if err := wait4(pid, &ws, nil); err != nil {
			return o, err
		}
		if ws.Stopped() {
			if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACEEXIT|unix.PTRACE_O_EXITKILL); err != nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				_ = wait4(pid, &ws, nil)
				return o, fmt.Errorf("ptrace %s: %v", argv[0], err)
			}
			_ = syscall.PtraceCont(pid, 0)
		}
	}
	var exitStop bool
	var hwmErr error
	for {
		if err := wait4(pid, &ws, &ru); err != nil {
			return o, err
		}
		if ws.Exited() || ws.Signaled() {
			break
		}
		if !ws.Stopped() {
			continue
		}
		sig := 0
		if ws.StopSignal() == syscall.SIGTRAP && ws.TrapCause() == syscall.PTRACE_EVENT_EXIT {
			exitStop = true
			o.HWMKB, hwmErr = readHWM(pid)
		} else if ws.StopSignal() != syscall.SIGTRAP {
			sig = int(ws.StopSignal()) // deliver the child's own signals (Go's SIGURG)
		}
		_ = syscall.PtraceCont(pid, sig)
	}
	o.Wall = time.Since(start)
	o.User = time.Duration(ru.Utime.Nano())
	o.Sys = time.Duration(ru.Stime.Nano())
	if ws.Signaled() {
		o.Code = 128 + int(ws.Signal())
	} else {
		o.Code = ws.ExitStatus()
	}
	// Which of the three it was, so that a rare miss can be told apart.
	switch {
	case trace && !exitStop:
		return o, fmt.Errorf("%s: no VmHWM at exit: it ended (exit %d) without the ptrace exit stop", argv[0], o.Code)
	case trace && o.HWMKB == 0:
		return o, fmt.Errorf("%s: no VmHWM at exit: %v", argv[0], hwmErr)
	}
	return o, nil
}

func wait4(pid int, ws *syscall.WaitStatus, ru *syscall.Rusage) error {
	for {
		_, err := syscall.Wait4(pid, ws, syscall.WALL, ru)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait4 %d: %v", pid, err)
		}
		return nil
	}
}

// readHWM reads VmHWM (kB) from /proc/PID/status, or says why it could
// not.
func readHWM(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM %q", pid, strings.TrimSpace(v))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM line (no address space)", pid)
}

// stats of a series of durations.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(d []time.Duration) (time.Duration, time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	lo, hi := d[0], d[0]
	for _, v := range d[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
