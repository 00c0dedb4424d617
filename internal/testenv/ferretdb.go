package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv/ferret"
)

// FerretDBOptions configure a FerretDB instance started by StartFerretDB.
type FerretDBOptions struct {
	// ReplSetName makes hello report a one-member replica set.
	ReplSetName string
	// TLSCertFile and TLSKeyFile (PEM) add a TLS listener; TLSCAFile makes
	// it ask for client certificates signed by that CA.
	TLSCertFile, TLSKeyFile, TLSCAFile string
	// SetupUsername and SetupPassword create a user in SetupDatabase
	// (default admin) and turn on SCRAM authentication.
	SetupUsername, SetupPassword, SetupDatabase string
	// Netns, when set, runs FerretDB inside that namespace: its
	// 127.0.0.1 addresses are the namespace's loopback, reachable only
	// from processes and sockets in the namespace (Netns.Command, Do).
	Netns *Netns
}

// FerretDB is a running FerretDB, killed when the test ends.
type FerretDB struct {
	// Addr is the plain listener, "127.0.0.1:PORT"; Port its port.
	Addr string
	Port int
	// TLSAddr and TLSPort are the TLS listener's, when one was asked for.
	TLSAddr string
	TLSPort int
	Dir     string

	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FerretDBBinary is ferret.Look for a test: it skips (fails under CI)
// when there is no ferretdb.
func FerretDBBinary(t testing.TB) string {
	t.Helper()
	if p, err := ferret.Look(); err == nil {
		return p
	}
	Missing(t, "ferretdb is not built; run scripts/install-test-deps.sh (the README's test command does), which builds FerretDB v1.24.0 into $(go env GOPATH)/bin")
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartFerretDB starts FerretDB (SQLite backend) on free loopback ports
// with its state in a t.TempDir(), waits until it accepts connections and
// kills it when the test ends.
func StartFerretDB(t testing.TB, o FerretDBOptions) *FerretDB {
	t.Helper()
	bin := FerretDBBinary(t)
	var lastErr string
	// A port found free can be taken before FerretDB binds it: retry.
	for range 3 {
		f, why := startFerretDB(t, bin, o)
		if f != nil {
			return f
		}
		lastErr = why
	}
	t.Fatalf("FerretDB did not start: %s", lastErr)
	return nil
}

func startFerretDB(t testing.TB, bin string, o FerretDBOptions) (*FerretDB, string) {
	t.Helper()
	dir := t.TempDir()
	f := &FerretDB{Dir: dir, Port: FreePort(t), out: &lockedBuffer{}}
	f.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Port))
	args := append(ferret.Args(dir, f.Addr), "--log-level=WARN")
	if o.ReplSetName != "" {
		args = append(args, "--repl-set-name="+o.ReplSetName)
	}
	if o.TLSCertFile != "" {
		f.TLSPort = FreePort(t)
		f.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(f.TLSPort))
		args = append(args, "--listen-tls="+f.TLSAddr,
			"--listen-tls-cert-file="+o.TLSCertFile, "--listen-tls-key-file="+o.TLSKeyFile)
		if o.TLSCAFile != "" {
			args = append(args, "--listen-tls-ca-file="+o.TLSCAFile)
		}
	}
	if o.SetupUsername != "" {
		db := o.SetupDatabase
		if db == "" {
			db = "admin"
		}
		args = append(args, "--test-enable-new-auth", "--setup-username="+o.SetupUsername,
			"--setup-password="+o.SetupPassword, "--setup-database="+db)
	}
	cmd := exec.Command(bin, args...)
	// The readiness probe below dials from where FerretDB listens.
	within := func(f func() error) error { return f() }
	if o.Netns != nil {
		cmd, within = o.Netns.Command(bin, args...), o.Netns.Do
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f.out, f.out
	if err := cmd.Start(); err != nil {
		Missing(t, "cannot start ferretdb %s: %v", bin, err)
	}
	f.cmd = cmd
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
	}

	addrs := []string{f.Addr}
	if f.TLSAddr != "" {
		addrs = append(addrs, f.TLSAddr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range addrs {
		for {
			err := within(func() error {
				c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err
			})
			if err == nil {
				break
			}
			select {
			case <-exited:
				return nil, fmt.Sprintf("ferretdb exited: %s", f.out.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				stop()
				return nil, fmt.Sprintf("ferretdb does not accept on %s after 20 s: %s", a, f.out.String())
			}
		}
	}
	t.Cleanup(stop)
	return f, ""
}

// Log is what FerretDB wrote so far (for failure messages).
func (f *FerretDB) Log() string { return f.out.String() }
