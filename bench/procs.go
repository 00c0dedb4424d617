package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/opschecks/opschecks/internal/testenv/ferret"
)

// buildChecks builds every cmd/check_* as the Makefile does (static,
// stripped) into dir. All at once first; when that fails (a check is
// mid-edit), one by one, so one broken check does not hide the others.
func buildChecks(root, dir string) (map[string]string, []skipped) {
	names, _ := filepath.Glob(filepath.Join(root, "cmd", "check_*"))
	var pkgs []string
	for _, p := range names {
		if st, err := os.Stat(filepath.Join(p, "main.go")); err == nil && !st.IsDir() {
			pkgs = append(pkgs, filepath.Base(p))
		}
	}
	sort.Strings(pkgs)
	bins := map[string]string{}
	var skips []skipped
	if len(pkgs) == 0 {
		return bins, nil
	}
	build := func(names ...string) ([]byte, error) {
		args := []string{"build", "-trimpath", "-ldflags", "-s -w -X github.com/opschecks/opschecks/internal/plugin.Version=bench", "-o", dir + "/"}
		for _, n := range names {
			args = append(args, "./cmd/"+n)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		return cmd.CombinedOutput()
	}
	_ = os.MkdirAll(dir, 0o755)
	if _, err := build(pkgs...); err == nil {
		for _, n := range pkgs {
			bins[n] = filepath.Join(dir, n)
		}
		return bins, nil
	}
	for _, n := range pkgs {
		if out, err := build(n); err != nil {
			msg := strings.TrimSpace(string(out))
			if i := strings.Index(msg, "\n"); i >= 0 {
				// The first compiler error is the useful line.
				lines := strings.Split(msg, "\n")
				msg = lines[0]
				for _, l := range lines {
					if strings.Contains(l, ".go:") {
						msg = l
						break
					}
				}
			}
			skips = append(skips, skipped{n, "does not build: " + msg})
			continue
		}
		bins[n] = filepath.Join(dir, n)
	}
	return bins, skips
}

// buildTool builds one of the harness's own reference programs.
func buildTool(root, dir, name string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./bench/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench/%s does not build: %s", name, lastLine(string(b)))
	}
	return out, nil
}

// startFerret starts FerretDB (SQLite backend) inside the namespace on a
// free loopback port, as ../shared/DESIGN.md describes, and waits until it
// accepts connections.
func startFerret(ns *nsThread, tmp string) (int, func(), error) {
	bin, err := ferret.Look()
	if err != nil {
		return 0, nil, fmt.Errorf("FerretDB is not installed (scripts/install-test-deps.sh builds it into $(go env GOPATH)/bin)")
	}
	dir := filepath.Join(tmp, "ferretdb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, nil, err
	}
	var port int
	var cmd *exec.Cmd
	ns.Do(func() {
		var l net.Listener
		if l, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		logf2, e := os.Create(filepath.Join(tmp, "ferretdb.log"))
		if e != nil {
			err = e
			return
		}
		defer logf2.Close()
		cmd = exec.Command(bin, ferret.Args(dir, fmt.Sprintf("127.0.0.1:%d", port))...)
		cmd.Stdout, cmd.Stderr = logf2, logf2
		// Never outlives the harness; forked from the namespace's thread,
		// so it listens there.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err = cmd.Start()
	})
	if err != nil {
		return 0, nil, fmt.Errorf("starting FerretDB: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	until := time.Now().Add(30 * time.Second)
	for {
		var c net.Conn
		ns.Do(func() { c, err = net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), time.Second) })
		if err == nil {
			c.Close()
			return port, stop, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(tmp, "ferretdb.log"))
			return 0, nil, fmt.Errorf("FerretDB exited at start: %s", lastLine(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(until) {
			stop()
			return 0, nil, fmt.Errorf("FerretDB did not accept connections within 30 s")
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// The heap holder is this same program, re-executed with heapEnv set: it
// allocates and touches that many MiB and waits until its stdin closes.
// check_numa reads its numa_maps.
const heapEnv = "OPSCHECKS_BENCH_HOLD_HEAP_MIB"

func heapMiB(cfg config) int {
	if cfg.Smoke {
		return 16
	}
	return 512
}

var heapSink [][]byte

func holdHeap() {
	var mib int
	fmt.Sscan(os.Getenv(heapEnv), &mib)
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		heapSink = append(heapSink, b)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive(heapSink)
}

func startHeap(mib int) (int, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", heapEnv, mib))
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("starting the heap holder: %v", err)
	}
	stop := func() { in.Close(); _ = cmd.Wait() }
	ready := make(chan error, 1)
	go func() {
		l, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && strings.TrimSpace(l) != "ready" {
			err = fmt.Errorf("heap holder said %q", l)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			stop()
			return 0, nil, err
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		stop()
		return 0, nil, fmt.Errorf("the heap holder did not get ready in 60 s")
	}
	return cmd.Process.Pid, stop, nil
}
