package mongodb_test

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
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
		rsWant(t, r, 2, "MONGODB CRITICAL - cannot connect to "+addr+": the answer is not the MongoDB wire protocol (length of read message too large), check that -H/-P or --uri name the port of a mongod or mongos")
		rsLacks(t, r, "connection(")
		if r.Elapsed > 4*time.Second {
			t.Errorf("%s: answered after %v", mode, r.Elapsed)
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
