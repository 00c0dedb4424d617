package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// profile says in one line where a missed target's time goes: how it
// compares with an empty Go program (the runtime's own start-up), the
// package initialisation (GODEBUG=inittrace=1), and the syscalls that took
// most system time (strace -f -c).
func profile(sp *spawner, rep *Report, m *meas, argv []string, tmp string) string {
	var parts []string
	head := fmt.Sprintf("`%s` at N=%s: median wall %s, CPU %s", m.T.Key, kN(m.N), ms(m.Median()), ms(m.CPU()))
	if g := rep.get(peerGo, m.N); g != nil && g.Valid() {
		head += fmt.Sprintf("; an empty Go program takes %s and check_dummy %s", ms(g.Median()), ms(medianOf(rep.get(peerDummy, m.N))))
	}
	parts = append(parts, head)
	if m.T.Check {
		out := filepath.Join(tmp, "inittrace.out")
		f, err := os.Create(out)
		if err == nil {
			env := sp.env
			sp.env = append(append([]string(nil), env...), "GODEBUG=inittrace=1")
			_, err = sp.run(argv, f, false)
			sp.env = env
			f.Close()
		}
		if err == nil {
			if b, err := os.ReadFile(out); err == nil {
				if s := summarizeInitTrace(string(b), 3); s != "" {
					parts = append(parts, s)
				}
			}
		}
	}
	if strace, err := exec.LookPath("strace"); err == nil {
		out := filepath.Join(tmp, "strace.out")
		_ = os.Remove(out)
		if _, err := sp.run(append([]string{strace, "-f", "-c", "-o", out}, argv...), nil, false); err == nil {
			if f, err := os.Open(out); err == nil {
				if top := parseStraceSummary(f, 4); len(top) > 0 {
					parts = append(parts, "its own syscalls by system time (strace -f -c, Go runtime bookkeeping left out): "+strings.Join(top, ", "))
				}
				f.Close()
			}
		}
	}
	return strings.Join(parts, "; ")
}

func medianOf(m *meas) time.Duration {
	if m == nil {
		return 0
	}
	return m.Median()
}

// summarizeInitTrace sums the "init PKG @T ms, C ms clock, ..." lines of
// GODEBUG=inittrace=1 and names the k most expensive packages.
func summarizeInitTrace(s string, k int) string {
	type pkg struct {
		name string
		ms   float64
	}
	var pkgs []pkg
	total := 0.0
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(f[4], &v); err != nil {
			continue
		}
		total += v
		pkgs = append(pkgs, pkg{f[1], v})
	}
	if len(pkgs) == 0 {
		return ""
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ms > pkgs[j].ms })
	var top []string
	for _, p := range pkgs[:min(k, len(pkgs))] {
		top = append(top, fmt.Sprintf("%s %.2f ms", p.name, p.ms))
	}
	return fmt.Sprintf("package init %.2f ms in %d packages (most: %s)", total, len(pkgs), strings.Join(top, ", "))
}

// runtimeSyscalls are the Go runtime's own bookkeeping (idle threads,
// signals, memory): present in every Go process, they say nothing about
// what a check does, so the profile leaves them out.
var runtimeSyscalls = map[string]bool{
	"futex": true, "nanosleep": true, "epoll_pwait": true, "epoll_wait": true, "epoll_ctl": true, "epoll_create1": true,
	"rt_sigaction": true, "rt_sigprocmask": true, "rt_sigreturn": true, "sigaltstack": true, "clone": true, "clone3": true,
	"mmap": true, "munmap": true, "madvise": true, "mprotect": true, "sched_yield": true, "gettid": true,
	"tgkill": true, "getpid": true, "sched_getaffinity": true, "set_robust_list": true, "rseq": true, "exit_group": true,
	"eventfd2": true, "prlimit64": true, "arch_prctl": true, "prctl": true,
}

// parseStraceSummary returns the first k rows of strace -c's table as
// "name pct% (calls calls)", leaving out the Go runtime's own syscalls.
func parseStraceSummary(r interface{ Read([]byte) (int, error) }, k int) []string {
	sc := bufio.NewScanner(r)
	var rows []string
	dashes := 0
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "------") {
			dashes++
			if dashes == 2 {
				break
			}
			continue
		}
		if dashes != 1 {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 5 || runtimeSyscalls[f[len(f)-1]] {
			continue
		}
		rows = append(rows, fmt.Sprintf("%s %s%% (%s calls)", f[len(f)-1], f[0], f[3]))
		if len(rows) == k {
			break
		}
	}
	return rows
}
