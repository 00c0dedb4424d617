package hardening

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
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
