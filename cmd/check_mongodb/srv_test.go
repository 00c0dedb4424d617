package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// DNS wire-format constants (RFC 1035, RFC 2782 for SRV).
const (
	dnsTypeA    = 1
	dnsTypeTXT  = 16
	dnsTypeAAAA = 28
	dnsTypeSRV  = 33

	dnsNoError  = 0
	dnsNXDomain = 3
)

// srvZone is a tiny authoritative DNS server for the test's cluster: the
// SRV record of the mongodb+srv host, the A record of its one member and
// an optional TXT record. It answers on UDP only (its answers are small)
// and counts the questions it was asked.
type srvZone struct {
	host, member string
	port         uint16

	mu    sync.Mutex
	txt   string // "" means no TXT record
	asked map[string]int
}

func (z *srvZone) setTXT(s string) {
	z.mu.Lock()
	z.txt = s
	z.mu.Unlock()
}

// count is how often the server was asked for name (lower case, no
// trailing dot) with type qtype.
func (z *srvZone) count(qtype uint16, name string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.asked[fmt.Sprintf("%d %s", qtype, name)]
}

// questions is what the server was asked so far, for messages.
func (z *srvZone) questions() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return fmt.Sprint(z.asked)
}

// serve answers the queries arriving on pc until it is closed.
func (z *srvZone) serve(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := z.answer(buf[:n]); resp != nil {
			_, _ = pc.WriteTo(resp, from)
		}
	}
}

// answer builds the reply to one query, or nil for a packet that is not
// a single-question query.
func (z *srvZone) answer(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// The question: labels up to the root label, then type and class.
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		if l == 0 {
			off++
			break
		}
		if l&0xc0 != 0 || off+1+l > len(q) {
			return nil
		}
		labels = append(labels, strings.ToLower(string(q[off+1:off+1+l])))
		off += 1 + l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off : off+2])
	question := q[12 : off+4]
	name := strings.Join(labels, ".")

	z.mu.Lock()
	if z.asked == nil {
		z.asked = map[string]int{}
	}
	z.asked[fmt.Sprintf("%d %s", qtype, name)]++
	txt := z.txt
	z.mu.Unlock()

	rcode := dnsNoError
	var rdatas [][]byte
	switch name {
	case "_mongodb._tcp." + z.host:
		if qtype == dnsTypeSRV {
			rd := binary.BigEndian.AppendUint16(nil, 0) // priority
			rd = binary.BigEndian.AppendUint16(rd, 0)   // weight
			rd = binary.BigEndian.AppendUint16(rd, z.port)
			rdatas = append(rdatas, encodeName(rd, z.member))
		}
	case z.member:
		if qtype == dnsTypeA {
			rdatas = append(rdatas, []byte{127, 0, 0, 1})
		}
	case z.host:
		if qtype == dnsTypeTXT && txt != "" {
			rdatas = append(rdatas, append([]byte{byte(len(txt))}, txt...))
		}
	default:
		rcode = dnsNXDomain
	}

	resp := append([]byte(nil), q[0:2]...) // id
	// QR, the query's opcode and RD, AA; RA (else Go's resolver takes an
	// empty answer for a lame referral) and the rcode.
	resp = append(resp, 0x80|q[2]&0x79|0x04, 0x80|byte(rcode))
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdatas)))
	resp = append(resp, 0, 0, 0, 0) // no authority, no additional
	resp = append(resp, question...)
	for _, rd := range rdatas {
		resp = append(resp, 0xc0, 12) // the name of the question
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 5) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp
}

func encodeName(b []byte, name string) []byte {
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// TestSRVURI resolves a mongodb+srv:// URI for real: the check runs in a
// network namespace whose resolv.conf points at a DNS server the test
// runs on the namespace's loopback, and the SRV record leads to a FerretDB
// in the same namespace. Nothing reaches the host's resolver.
func TestSRVURI(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_mongodb")
	ns := testenv.NewNetns(t, "srv")

	// The user lives in "monitoring", and only the TXT record says so:
	// authentication succeeds only when the check honours it.
	const user, pass = "monitor", "Srv-S3cret%pass"
	f := testenv.StartFerretDB(t, testenv.FerretDBOptions{Netns: ns,
		SetupUsername: user, SetupPassword: pass, SetupDatabase: "monitoring"})
	port := strconv.Itoa(f.Port)

	z := &srvZone{host: "cluster.opschecks.test", member: "db1.cluster.opschecks.test", port: uint16(f.Port)}
	var pc net.PacketConn
	if err := ns.Do(func() error {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:53")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { z.serve(pc); close(done) }()
	t.Cleanup(func() { pc.Close(); <-done })

	// ip netns exec mounts this file over /etc/resolv.conf; a test hosts
	// file keeps the host's entries out too.
	etc := filepath.Join("/etc/netns", ns.Name)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	for file, text := range map[string]string{
		"resolv.conf": "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
		"hosts":       "127.0.0.1 localhost\n",
	} {
		if err := os.WriteFile(filepath.Join(etc, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(t *testing.T, args ...string) testenv.Run {
		t.Helper()
		return testenv.RunCmd(t, ns.Command(bin, args...))
	}
	member := regexp.QuoteMeta(z.member + ":" + port)
	noSecret := func(t *testing.T, r testenv.Run) {
		t.Helper()
		for _, secret := range []string{pass, url.QueryEscape(pass), url.PathEscape(pass)} {
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Errorf("output holds the password %q:\n%s", secret, r.Stdout)
			}
		}
	}

	t.Run("no TXT record", func(t *testing.T) {
		before := z.count(dnsTypeSRV, "_mongodb._tcp."+z.host)
		r := run(t, append([]string{"--uri", "mongodb+srv://" + z.host + "/?tls=false", "-vv"}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - `+member+` answers ping in \d+\.\d{3} s \| connect_time=[0-9.]+s;8;9;0$`)
		if !strings.Contains(r.Stdout, "connected to "+z.member+":"+port+" (direct: false)") {
			t.Errorf("details lack the member found through SRV:\n%s", r.Stdout)
		}
		if z.count(dnsTypeSRV, "_mongodb._tcp."+z.host) == before || z.count(dnsTypeA, z.member) == 0 {
			t.Errorf("the check did not resolve SRV and A through the test's server: %v", z.questions())
		}
	})

	uri := "mongodb+srv://" + user + ":" + url.QueryEscape(pass) + "@" + z.host + "/?tls=false"
	t.Run("TXT authSource and password in URI", func(t *testing.T) {
		z.setTXT("authSource=monitoring")
		t.Cleanup(func() { z.setTXT("") })
		before := z.count(dnsTypeTXT, z.host)
		r := run(t, append([]string{"--uri", uri, "-vvv"}, relaxed...)...)
		expect(t, r, 0, `^MONGODB OK - `+member+` answers ping`)
		if want := "connection string: mongodb+srv://" + user + ":xxxxx@" + z.host + "/?tls=false"; !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Stdout)
		}
		if z.count(dnsTypeTXT, z.host) == before {
			t.Errorf("the check did not ask for the TXT record: %v", z.questions())
		}
		noSecret(t, r)
	})
	t.Run("without the TXT record the user is looked for in admin", func(t *testing.T) {
		r := run(t, "--uri", uri, "-vvv")
		expect(t, r, 2, `^MONGODB CRITICAL - authentication failed for user monitor at `+member+`: `)
		noSecret(t, r)
	})

	t.Run("TLS by default", func(t *testing.T) {
		// mongodb+srv implies tls=true; FerretDB's listener is plain.
		r := run(t, "--uri", "mongodb+srv://"+z.host+"/", "-t", "5")
		expect(t, r, 2, `^MONGODB CRITICAL - TLS handshake with `+member+` failed: `)
	})

	t.Run("no SRV record", func(t *testing.T) {
		const missing = "nosuch.opschecks.test"
		r := run(t, "--uri", "mongodb+srv://"+user+":"+url.QueryEscape(pass)+"@"+missing+"/?tls=false", "-vvv", "-t", "5")
		expect(t, r, 2, `^MONGODB CRITICAL - cannot resolve the DNS SRV records of the --uri host: lookup _mongodb\._tcp\.`+regexp.QuoteMeta(missing)+` on 127\.0\.0\.1:53: no such host$`)
		if strings.Count(r.Stdout, "\n") != 1 {
			t.Errorf("want one line, got:\n%s", r.Stdout)
		}
		if r.Elapsed > 2*time.Second {
			t.Errorf("a missing SRV record took %v to report", r.Elapsed)
		}
		if z.count(dnsTypeSRV, "_mongodb._tcp."+missing) == 0 {
			t.Errorf("the check did not ask the test's server for the SRV record: %v", z.questions())
		}
		noSecret(t, r)
	})

	t.Logf("DNS questions (type name: count): %s", z.questions())
}
