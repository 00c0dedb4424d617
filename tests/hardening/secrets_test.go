package hardening

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestSecretsNeverShown: at -vvv and on every failure path, no password,
// URI password or key material reaches the output.
func TestSecretsNeverShown(t *testing.T) {
	b := byName(t, "check_mongodb")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("Secr3t-FILE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile, keyLines := clientKeyFile(t, dir)
	closed, silent, closing := closedPort(t), silentPeer(t).port(), closingPeer(t).port()

	cases := []struct {
		name   string
		env    []string
		args   []string
		secret string
	}{
		{"uri password, closed port", nil, []string{"--uri", "mongodb://admin:Secr3t-URI@127.0.0.1:" + closed + "/?authSource=admin"}, "Secr3t-URI"},
		{"uri password, silent peer", nil, []string{"--uri", "mongodb://admin:Secr3t-URI@127.0.0.1:" + silent + "/"}, "Secr3t-URI"},
		{"uri password, peer closes", nil, []string{"--uri", "mongodb://admin:Secr3t-URI@127.0.0.1:" + closing + "/"}, "Secr3t-URI"},
		{"uri password, malformed uri", nil, []string{"--uri", "mongodb://admin:Secr3t-URI@127.0.0.1:notaport/"}, "Secr3t-URI"},
		{"uri password, unknown scheme", nil, []string{"--uri", "mongo://admin:Secr3t-URI@127.0.0.1/"}, "Secr3t-URI"},
		{"password flag", nil, []string{"-u", "admin", "--password", "Secr3t-FLAG", "-H", "127.0.0.1", "-P", closing}, "Secr3t-FLAG"},
		{"password env", []string{"MONGODB_PASSWORD=Secr3t-ENV"}, []string{"-u", "admin", "-H", "127.0.0.1", "-P", silent}, "Secr3t-ENV"},
		{"password file", nil, []string{"-u", "admin", "--password-file", pwFile, "-H", "127.0.0.1", "-P", closed}, "Secr3t-FILE"},
		{"client key", nil, []string{"--tls-cert-key-file", keyFile, "-H", "127.0.0.1", "-P", closing}, keyLines[1]},
		// Short secrets, which the last-resort redaction does not look
		// for (plugin.MinRedactLen): kept out by construction.
		{"short uri password, closed port", nil, []string{"--uri", "mongodb://admin:Zq9@127.0.0.1:" + closed + "/"}, "Zq9"},
		{"short uri password, malformed uri", nil, []string{"--uri", "mongodb://admin:Zq9@127.0.0.1:notaport/"}, "Zq9"},
		{"uri password with '?' (the driver's user info ends at the first '@')", nil, []string{"--uri", "mongodb://admin:Zq?9@127.0.0.1:" + closed + "/"}, "Zq?9"},
		{"uri password badly escaped", nil, []string{"--uri", "mongodb://admin:Zq%zz9@127.0.0.1:" + closed + "/"}, "%zz"},
		{"key file password badly escaped", nil, []string{"--uri", "mongodb://127.0.0.1:" + closed + "/?tls=true&tlsCertificateKeyFilePassword=Zq%zz9"}, "%zz"},
		{"short key file password", nil, []string{"--uri", "mongodb://127.0.0.1:" + closed + "/?tls=true&tlsCertificateKeyFilePassword=Zq9"}, "Zq9"},
		{"short password flag", nil, []string{"-u", "admin", "--password", "Zq9", "-H", "127.0.0.1", "-P", closing}, "Zq9"},
	}
	for _, tc := range cases {
		for _, verbosity := range []string{"-v", "-vvv"} {
			t.Run(tc.name+" "+verbosity, func(t *testing.T) {
				r := testenv.RunCheck(t, b.path, tc.env, append(tc.args, verbosity, "-t", "2")...)
				testenv.AssertContract(t, b.doc.Label, r)
				out := r.Stdout + r.Stderr
				if strings.Contains(out, tc.secret) {
					t.Fatalf("the secret %q is in the output: %q", tc.secret, out)
				}
				if strings.Contains(out, "PRIVATE KEY") {
					t.Fatalf("key material in the output: %q", out)
				}
				if r.Code == 0 {
					t.Errorf("OK against a broken peer: %q", r.FirstLine())
				}
			})
		}
	}
}

// clientKeyFile writes a PEM file with a self-signed client certificate
// and its key, and returns the path and the key's base64 lines.
func clientKeyFile(t *testing.T, dir string) (string, []string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	path := filepath.Join(dir, "client.pem")
	if err := os.WriteFile(path, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, strings.Split(string(keyPEM), "\n")
}

// TestShortPasswordKeepsText: a short password is not hunted for in the
// output, so the text around it stays whole: with "-u x --password y"
// FerretDB's refusal of SCRAM (its message links
// https://docs.ferretdb.io/security/authentication/) was printed as
// ".../securitxxxxx/authentication/".
func TestShortPasswordKeepsText(t *testing.T) {
	b := byName(t, "check_mongodb")
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{})
	r := testenv.RunCheck(t, b.path, nil, "-u", "x", "--password", "y", "-H", "127.0.0.1", "-P", strconv.Itoa(f.Port), "-t", "5")
	testenv.AssertContract(t, b.doc.Label, r)
	if r.Code != 2 || !strings.Contains(r.Stdout, "authentication failed for user x") || !strings.Contains(r.Stdout, "/security/authentication/") || strings.Contains(r.Stdout, "xxxxx") {
		t.Fatalf("exit %d, want CRITICAL naming the failure with FerretDB's text whole:\n%s", r.Code, r.Stdout)
	}
}

// TestConnectionStringShownWithoutSecrets: -vv shows the connection
// string with its password taken out as the driver reads it (the user
// info ends at the first '@'), short or not: a password holding '?' was
// shown whole, since the display cut the user info at the '?'.
func TestConnectionStringShownWithoutSecrets(t *testing.T) {
	b := byName(t, "check_mongodb")
	const pw = "Zq?9w"
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{SetupUsername: "nagios", SetupPassword: pw})
	uri := "mongodb://nagios:" + pw + "@127.0.0.1:" + strconv.Itoa(f.Port) + "/?authSource=admin"
	r := testenv.RunCheck(t, b.path, nil, "--uri", uri, "--mode", "connect", "-vv", "-t", "5")
	testenv.AssertContract(t, b.doc.Label, r)
	if r.Code != 0 || !strings.Contains(r.Stdout, "connection string: mongodb://nagios:xxxxx@127.0.0.1:") || strings.Contains(r.Stdout, pw) {
		t.Fatalf("exit %d, want OK with the connection string shown without its password:\n%s", r.Code, r.Stdout)
	}
}
