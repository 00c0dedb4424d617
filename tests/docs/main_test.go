package docs

import (
	"bufio"
	"fmt"
	"io"
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

// TestMain lets an example run this test binary as another program: a
// "postgres" holding connections, a "mongod" that only waits. The
// program's name is the copy's file name, which is the process's comm.
func TestMain(m *testing.M) {
	if os.Getenv("DOCS_HELPER") != "" {
		helperMain()
		return
	}
	os.Exit(m.Run())
}

// helperMain connects to DOCS_CONNECT once per entry of DOCS_KEEPALIVE
// (the socket's keepalive idle time in seconds, 0 for none), says
// "ready", and waits to be killed.
func helperMain() {
	var conns []net.Conn
	if addr := os.Getenv("DOCS_CONNECT"); addr != "" {
		for _, ka := range strings.Split(os.Getenv("DOCS_KEEPALIVE"), ",") {
			secs, err := strconv.Atoi(ka)
			if err != nil {
				fmt.Println("bad DOCS_KEEPALIVE:", err)
				os.Exit(1)
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			cfg := net.KeepAliveConfig{Enable: secs > 0, Idle: time.Duration(secs) * time.Second, Interval: time.Duration(secs) * time.Second, Count: 9}
			if err := c.(*net.TCPConn).SetKeepAliveConfig(cfg); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			conns = append(conns, c)
		}
	}
	fmt.Println("ready")
	select {}
}

// helper starts a copy of this test binary named name (in ns when it is
// not nil) with env, waits until it is ready and returns its PID; it is
// killed when the test ends.
func helper(t *testing.T, ns *testenv.Netns, name string, env ...string) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	p := filepath.Join(dir, name)
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(p)
	} else {
		cmd = exec.Command(p)
	}
	cmd.Env = append(os.Environ(), append([]string{"DOCS_HELPER=1"}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(l)
	}()
	select {
	case l := <-ready:
		if l != "ready" {
			t.Fatalf("helper %s: %s", name, l)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("helper %s not ready after 10 s", name)
	}
	return cmd.Process.Pid // ip netns exec execs the program in place
}
