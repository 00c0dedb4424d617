package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles are PEM files of a throwaway test CA and certificates it
// signed, valid for a day.
type TLSFiles struct {
	CA     string // the CA certificate
	Cert   string // server certificate for 127.0.0.1, ::1 and localhost
	Key    string // its PKCS#8 key
	Client string // client certificate (CN monitor, OU nagios) and its key in one file
}

// WriteTLSFiles writes a new CA and a server and a client certificate
// signed by it into dir, as NAME-ca.pem, NAME-server.pem, NAME-server.key
// and NAME-client.pem. Two calls with different names give two CAs that do
// not trust each other's certificates.
func WriteTLSFiles(t testing.TB, dir, name string) TLSFiles {
	t.Helper()
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER := sign(t, caTmpl, caTmpl, caKey, caKey)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, subject pkix.Name, usage x509.ExtKeyUsage) (der, keyDER []byte) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      subject,
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
			tmpl.DNSNames = []string{"localhost"}
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return sign(t, tmpl, ca, key, caKey), keyDER
	}
	srvDER, srvKey := leaf(2, pkix.Name{CommonName: "127.0.0.1"}, x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := leaf(3, pkix.Name{CommonName: "monitor", OrganizationalUnit: []string{"nagios"}}, x509.ExtKeyUsageClientAuth)

	write := func(file string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name+file)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert := func(der []byte) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: der} }
	key := func(der []byte) *pem.Block { return &pem.Block{Type: "PRIVATE KEY", Bytes: der} }
	return TLSFiles{
		CA:     write("-ca.pem", cert(caDER)),
		Cert:   write("-server.pem", cert(srvDER)),
		Key:    write("-server.key", key(srvKey)),
		Client: write("-client.pem", cert(cliDER), key(cliKey)),
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
