package mongodb_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// A port where another service speaks first, as an SSH server does (its
// identification line, RFC 4253 section 4.2, is sent on connect): the
// first bytes of its answer are no wire-protocol message length. One
// CRITICAL line says so and what to check, not the driver's error four
// times over.
func TestNotMongoDBServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Read(make([]byte, 512))
			}()
		}
	}()
	addr := l.Addr().String()
	for _, mode := range []string{"connect", "replset-state", "shards"} {
		r := rsRun(t, nil, "--uri", "mongodb://"+addr+"/", "--mode", mode, "-t", "5")
		rsWant(t, r, 2, "MONGODB CRITICAL - cannot connect to "+addr+`: the answer is not the MongoDB wire protocol (it begins "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"), check that -H/-P or --uri name the port of a mongod or mongos`)
		rsLacks(t, r, "connection(")
		if r.Elapsed > 4*time.Second {
			t.Errorf("%s: answered after %v", mode, r.Elapsed)
		}
	}
}

// TestHTTPServerOnThePort: a real nginx answers the driver's hello with
// "HTTP/1.1 400 Bad Request" at once (also on its TLS port without
// --tls, "plain HTTP request sent to HTTPS port"): the check says the port
// answers HTTP. Through TLS to its TLS port the answer is not seen (the
// connection carries TLS records), only that it is no wire-protocol
// message. An HTTP server that waits for a request line (Go's net/http)
// never answers the binary hello: the check says it waited for the
// handshake of a port that took the connection and sent nothing back,
// not "context deadline exceeded".
func TestHTTPServerOnThePort(t *testing.T) {
	tf := testenv.WriteTLSFiles(t, t.TempDir(), "https")
	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	ng := testenv.StartNginx(t, testenv.NginxOptions{HTTP: fmt.Sprintf("    server {\n        listen %s ssl;\n        ssl_certificate %s;\n        ssl_certificate_key %s;\n    }\n", tlsAddr, tf.Cert, tf.Key)})
	for _, tc := range []struct {
		addr string
		args []string
		want string
	}{
		{ng.Addr, nil, `this port answers HTTP, not MongoDB ("HTTP/1.1 400 Bad Request"), check that -H/-P or --uri name the port of a mongod or mongos`},
		{ng.Addr, []string{"--tls", "--tls-insecure"}, `this port answers HTTP, not MongoDB ("HTTP/1.1 400 Bad Request")`},
		{tlsAddr, nil, `this port answers HTTP, not MongoDB ("HTTP/1.1 400 Bad Request")`},
		{tlsAddr, []string{"--tls-ca-file", tf.CA}, "the answer is not the MongoDB wire protocol (length of read message too large, read inside TLS), check that -H/-P or --uri name the port of a mongod or mongos, not of another service (HTTPS, a TLS proxy)"},
	} {
		r := rsRun(t, nil, append([]string{"--uri", "mongodb://" + tc.addr + "/", "-t", "5"}, tc.args...)...)
		rsWant(t, r, 2, "MONGODB CRITICAL - cannot connect to "+tc.addr+": "+tc.want)
		if r.Elapsed > 4*time.Second {
			t.Errorf("%s %v: answered after %v", tc.addr, tc.args, r.Elapsed)
		}
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	for _, tc := range []struct {
		srv        *httptest.Server
		mode, want string
		args       []string
	}{
		{srv, "connect", "the connection was accepted and nothing came back", nil},
		{srv, "replset-state", "the connection was accepted and nothing came back", nil},
		{tlsSrv, "connect", " completed the TLS handshake and sent nothing inside it", []string{"--tls", "--tls-insecure"}},
	} {
		addr := tc.srv.Listener.Addr().String()
		r := rsRun(t, nil, append([]string{"--uri", "mongodb://" + addr + "/", "--mode", tc.mode, "-t", "2"}, tc.args...)...)
		rsWant(t, r, 3, "MONGODB UNKNOWN - timed out after 2s while waiting for "+addr+" to answer the MongoDB handshake (hello): ", tc.want, "check that -H/-P or --uri name the port of a mongod or mongos")
		rsLacks(t, r, "context deadline exceeded")
	}
	for _, s := range []*httptest.Server{srv, tlsSrv} {
		s.CloseClientConnections()
		s.Close()
	}
}

// TestStalledServer: a mongod that accepts a command and never answers
// it (a command behind a lock, a server out of resources): the timeout
// names the member and the command, not "context deadline exceeded".
func TestStalledServer(t *testing.T) {
	stuck := make(chan struct{})
	sc := rsThree(0, 0)
	sc.Commands = map[string]func(int) bson.D{
		"serverStatus":     func(int) bson.D { <-stuck; return nil },
		"replSetGetStatus": func(int) bson.D { <-stuck; return nil },
	}
	set := mongosim.Start(t, sc)
	t.Cleanup(func() { close(stuck) }) // before the set closes
	for _, tc := range []struct{ uri, mode, want string }{
		{set.DirectURI(0), "connections", set.Addr(0) + " to answer serverStatus"},
		{set.URI(), "replset-state", set.Addr(0) + " to answer replSetGetStatus"},
	} {
		r := rsRun(t, nil, "--uri", tc.uri, "--mode", tc.mode, "-t", "2")
		rsWant(t, r, 3, "MONGODB UNKNOWN - timed out after 2s while waiting for "+tc.want+": the server is overloaded or stuck, look at its log and at db.currentOp() (-t 2s)")
		rsLacks(t, r, "context deadline exceeded", "without an answer")
		if r.Elapsed > 2*time.Second {
			t.Errorf("%s answered after %v, -t 2", tc.mode, r.Elapsed)
		}
	}
}

// TestConnectionNotAccepted: a port whose listener's accept queue is
// full (backlog 0, filled, never accepted): the kernel drops the SYNs
// (tcp_conn_request, sk_acceptq_is_full), as a firewall that drops
// packets or a host that is down look to a client. The check says it
// waited for the TCP connection, not "context deadline exceeded".
func TestConnectionNotAccepted(t *testing.T) {
	addr := fullListener(t)
	r := rsRun(t, nil, "--uri", "mongodb://"+addr+"/", "-t", "2")
	rsWant(t, r, 3, "MONGODB UNKNOWN - timed out after 2s while waiting for "+addr+" to accept a TCP connection: nothing answered the connection request (a host that is down, a firewall that drops packets, or a listener whose accept queue is full) (-t 2s)")
}

// fullListener returns the address of a loopback listening socket with
// a backlog of 0 whose accept queue is full: it is filled until a
// connection is not completed, and nothing accepts.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr // this one was not completed: the queue is full
		}
		t.Cleanup(func() { c.Close() })
		if i == 8 {
			t.Fatalf("the accept queue of a backlog-0 listener took %d connections", i+1)
		}
	}
}

// TestURIFileOptions: a TLS file given in the --uri that cannot be used
// is refused naming the option, as --tls-ca-file is, before any
// connection and for both schemes (the driver said "open /nonexist: no
// such file or directory" or "failed to find CERTIFICATE", naming no
// option, and parses a mongodb+srv:// string only when connecting).
func TestURIFileOptions(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := testenv.WriteTLSFiles(t, dir, "uri")
	for uri, want := range map[string]string{
		"mongodb://127.0.0.1:1/?tlsCAFile=/nonexist":                           "MONGODB UNKNOWN - invalid --uri: tlsCAFile: cannot read /nonexist: no such file (see check_mongodb --help)",
		"mongodb+srv://db.invalid/?tlsCAFile=/nonexist":                        "MONGODB UNKNOWN - invalid --uri: tlsCAFile: cannot read /nonexist: no such file (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&sslCertificateAuthorityFile=" + dir:   "MONGODB UNKNOWN - invalid --uri: sslCertificateAuthorityFile: cannot read " + dir + ": is a directory (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&tlsCAFile=/dev/zero":                  "MONGODB UNKNOWN - invalid --uri: tlsCAFile /dev/zero is larger than 16.0 MiB: expected PEM certificates and keys (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&tlsCertificateKeyFile=/nonexist":      "MONGODB UNKNOWN - invalid --uri: tlsCertificateKeyFile: cannot read /nonexist: no such file (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&tlsCAFile=" + url.QueryEscape(notPEM): "MONGODB UNKNOWN - invalid --uri: tlsCAFile " + notPEM + " holds no PEM certificate: expected the CA certificate(s) in PEM form (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&tlsCertificateKeyFile=" + tf.CA:       "MONGODB UNKNOWN - invalid --uri: tlsCertificateKeyFile " + tf.CA + " holds no PEM private key: expected the client certificate's key in PEM form (see check_mongodb --help)",
		"mongodb://127.0.0.1:1/?tls=true&tlsCertificateKeyFile=" + tf.Key:      "MONGODB UNKNOWN - invalid --uri: tlsCertificateKeyFile " + tf.Key + " holds no PEM certificate: expected the client certificate in PEM form (see check_mongodb --help)",
	} {
		for _, extra := range [][]string{nil, {"--validate-options"}} {
			r := rsRun(t, nil, append([]string{"--uri", uri}, extra...)...)
			rsWant(t, r, 3, want)
			if strings.Count(r.Stdout, "\n") != 1 {
				t.Errorf("%s: not one line:\n%s", uri, r.Stdout)
			}
		}
	}
	// Files that are right, and authMechanismProperties that name
	// things (ENVIRONMENT is checked by the driver: it must reach it as
	// written).
	for _, uri := range []string{
		"mongodb://127.0.0.1:1/?tls=true&tlsCAFile=" + tf.CA + "&tlsCertificateKeyFile=" + tf.Client,
		"mongodb://127.0.0.1:1/?tls=true&tlsCertificateFile=" + tf.Cert + "&tlsPrivateKeyFile=" + tf.Key,
		"mongodb://monitor@127.0.0.1:1/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:azure,TOKEN_RESOURCE:api%3A%2F%2Fmonitoring",
	} {
		rsWant(t, rsRun(t, nil, "--uri", uri, "--validate-options"), 0, "MONGODB OK - options are valid")
	}
}
