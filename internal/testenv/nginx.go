package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
)

// NginxOptions configures StartNginx.
type NginxOptions struct {
	Netns   *Netns // run inside this namespace; nil for the test's own
	Port    int    // 0: a free loopback port (8080 inside a Netns)
	Backlog int    // listen backlog=; 0 means 8
	// Server is extra configuration inside the server block.
	Server string
	// WorkerConnections is the events{} worker_connections; 0 means 128.
	// The listening sockets count against it.
	WorkerConnections int
	// HTTP is extra configuration at http{} level, e.g. a second server
	// block that listens with ssl.
	HTTP string
	// Main is extra configuration at the main (top) level, e.g.
	// "worker_rlimit_nofile 32;".
	Main string
	// Name runs nginx from a copy of its binary with this name, which is
	// then its processes' comm: a check's --process Name finds this
	// instance and no other nginx the host runs (other tests', other
	// namespaces'). Empty: the nginx binary itself.
	Name string
}

// Nginx is a real nginx (Debian package) started by a test with its own
// configuration, pid file and error log in a temporary directory, one
// worker, listening on a loopback port with a small backlog and a
// stub_status location at /nginx_status. It is stopped at cleanup.
type Nginx struct {
	Addr     string // 127.0.0.1:PORT
	Port     int
	Dir      string
	PidFile  string
	ErrorLog string
	PID      int // the master
	Netns    *Netns
	cmd      *exec.Cmd
	exited   chan struct{}
}

// StatusURL is the stub_status URL.
func (n *Nginx) StatusURL() string { return "http://" + n.Addr + "/nginx_status" }

// StartNginx starts nginx and waits until its worker runs.
func StartNginx(t testing.TB, o NginxOptions) *Nginx {
	t.Helper()
	bin := Binary(t, "nginx")
	if o.Backlog == 0 {
		o.Backlog = 8
	}
	if o.WorkerConnections == 0 {
		o.WorkerConnections = 128
	}
	if o.Port == 0 {
		if o.Netns != nil {
			o.Port = 8080
		} else {
			o.Port = FreePort(t)
		}
	}
	dir := t.TempDir()
	n := &Nginx{Port: o.Port, Addr: fmt.Sprintf("127.0.0.1:%d", o.Port), Dir: dir,
		PidFile: filepath.Join(dir, "nginx.pid"), ErrorLog: filepath.Join(dir, "error.log"),
		Netns: o.Netns, exited: make(chan struct{})}
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise switch to nobody/www-data, which cannot
		// enter the test's 0700 temporary directory.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
%[8]s
error_log %[2]s/error.log info;
events { worker_connections %[6]d; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen %[3]s backlog=%[4]d;
        location = /nginx_status { stub_status; }
        location = /hello { default_type text/plain; return 200 "hello\n"; }
        location / { return 404; }
%[5]s
    }
%[7]s}
`, user, dir, n.Addr, o.Backlog, o.Server, o.WorkerConnections, o.HTTP, o.Main)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.Name != "" {
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, o.Name)
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-p", dir + "/", "-e", n.ErrorLog, "-c", confPath}
	if o.Netns != nil {
		n.cmd = o.Netns.Command(bin, args...)
	} else {
		n.cmd = exec.Command(bin, args...)
	}
	var out bytes.Buffer
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	n.PID = n.cmd.Process.Pid // ip netns exec execs nginx in place
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(n.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(n.PidFile); err == nil && len(n.Workers()) > 0 {
			return n
		}
		select {
		case <-n.exited:
			log, _ := os.ReadFile(n.ErrorLog)
			t.Fatalf("nginx exited at start: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(n.ErrorLog)
			t.Fatalf("nginx did not start within 10s: %s\n%s", out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Workers returns the PIDs of the master's children.
func (n *Nginx) Workers() []int {
	pids, err := linux.Host.WithChildren(n.PID)
	if err != nil {
		return nil
	}
	return pids[1:] // pids[0] is the master
}

// Signal sends sig to every worker (SIGSTOP/SIGCONT to fill and drain the
// accept queue).
func (n *Nginx) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	ws := n.Workers()
	if len(ws) == 0 {
		t.Fatalf("nginx %d has no worker", n.PID)
	}
	for _, w := range ws {
		if err := syscall.Kill(w, sig); err != nil {
			t.Fatalf("kill -%d %d: %v", sig, w, err)
		}
	}
}

func (n *Nginx) stop() {
	for _, w := range n.Workers() {
		_ = syscall.Kill(w, syscall.SIGCONT)
	}
	_ = syscall.Kill(n.PID, syscall.SIGTERM)
	select {
	case <-n.exited:
		return
	case <-time.After(5 * time.Second):
	}
	for _, w := range n.Workers() {
		_ = syscall.Kill(w, syscall.SIGKILL)
	}
	_ = syscall.Kill(n.PID, syscall.SIGKILL)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
	}
}
