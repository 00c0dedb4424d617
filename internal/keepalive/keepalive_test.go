package keepalive

import (
	"context"
	"encoding/binary"
	"github.com/opschecks/opschecks/internal/testenv"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

func TestParseIdleTimeout(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		preset  string
		wantErr string
	}{
		{"90", 90 * time.Second, "", ""},
		{"90s", 90 * time.Second, "", ""},
		{"1.5", 1500 * time.Millisecond, "", ""},
		{"5m", 5 * time.Minute, "", ""},
		{"aws-nat", 350 * time.Second, "aws-nat", ""},
		{"AWS-NLB", 350 * time.Second, "aws-nlb", ""},
		{"azure-lb", 4 * time.Minute, "azure-lb", ""},
		{"gcp-nat", 20 * time.Minute, "gcp-nat", ""},
		{"ipvs", 15 * time.Minute, "ipvs", ""},
		{"conntrack", 120 * time.Hour, "conntrack", ""},
		{"aws-natt", 0, "", `unknown --idle-timeout preset "aws-natt"`},
		{"nat", 0, "", `unknown --idle-timeout preset "nat"`},
		{"12xs", 0, "", `invalid --idle-timeout "12xs"`},
		{"-5", 0, "", `invalid --idle-timeout "-5"`},
		{"0", 0, "", `invalid --idle-timeout "0"`},
		{"", 0, "", `invalid --idle-timeout ""`},
	}
	for _, c := range cases {
		got, err := ParseIdleTimeout(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "aws-nat, aws-nlb, azure-lb, gcp-nat, ipvs, conntrack") {
				t.Errorf("%q: error %v, want prefix %q listing the presets", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.D != c.want || got.Preset != c.preset {
			t.Errorf("%q: got %+v, %v; want %v %q", c.in, got, err, c.want, c.preset)
		}
	}
}

// TestHostFixtures runs the host audit on fixture /proc/sys trees and
// compares the rendered output with golden files.
func TestHostFixtures(t *testing.T) {
	cases := []struct {
		name, dir, idle string
		maxDetect       string
		state           plugin.State
		wantErr         string
	}{
		{name: "default-90s", dir: "default", idle: "90s", state: plugin.Critical},
		{name: "default-conntrack", dir: "default", idle: "conntrack", state: plugin.OK},     // no nf_conntrack: the kernel default
		{name: "conntrack-600", dir: "conntrack", idle: "conntrack", state: plugin.Critical}, // the namespace's own timeout
		{name: "tuned-90s", dir: "tuned", idle: "90s", state: plugin.OK},
		{name: "tuned-30s", dir: "tuned", idle: "30s", state: plugin.Critical}, // gap == idle timeout
		{name: "tuned-maxdetect", dir: "tuned", idle: "90s", maxDetect: "60s", state: plugin.Warning},
		{name: "tuned-maxdetect-ok", dir: "tuned", idle: "90s", maxDetect: "80s", state: plugin.OK},
		{name: "intvl-aws-nat", dir: "intvl", idle: "aws-nat", state: plugin.OK},
		{name: "intvl-gcp", dir: "intvl", idle: "4m", state: plugin.Critical},
		{name: "garbage", dir: "garbage", idle: "90s", wantErr: `net.ipv4.tcp_keepalive_intvl: "seventy" is not an integer`},
		{name: "missing", dir: "missing", idle: "90s", wantErr: "tcp_keepalive_intvl: no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"--idle-timeout", c.idle}
			if c.maxDetect != "" {
				args = append(args, "--max-detect", c.maxDetect)
			}
			o := testenv.ParseOptions[Options](t, args...)
			obs, err := Gather(context.Background(), linux.Under(filepath.Join("testdata", c.dir)), o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("KEEPALIVE", Judge(obs, o))
			if st != c.state {
				t.Errorf("state %s, want %s", st, c.state)
			}
			testenv.Golden(t, c.name+".txt", out)
		})
	}
}

func TestRecommend(t *testing.T) {
	for idle, want := range map[time.Duration]int64{
		90 * time.Second: 30, 2 * time.Second: 1, 350 * time.Second: 116, 120 * time.Hour: 600, 500 * time.Millisecond: 1,
	} {
		if got := recommend(idle); got != want {
			t.Errorf("recommend(%s) = %d, want %d", idle, got, want)
		}
	}
}

func sock(src, dst string, timer uint8, expiresMs uint32, idle time.Duration, inode uint64) linux.Socket {
	s := linux.Socket{
		Family: unix.AF_INET, State: linux.TCPEstablished, Timer: timer, Expires: expiresMs, Inode: inode,
		Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst),
	}
	if idle >= 0 {
		s.Info = &linux.TCPInfo{LastDataSent: idle + time.Second, LastDataRecv: idle}
	}
	return s
}

func TestAudit(t *testing.T) {
	sockets := []linux.Socket{
		sock("10.0.0.1:40000", "10.9.0.5:5432", linux.TimerNone, 0, 5*time.Second, 11),               // no keepalive, fresh
		sock("10.0.0.1:40001", "10.9.0.5:5432", linux.TimerNone, 0, 200*time.Second, 12),             // no keepalive, at risk
		sock("10.0.0.1:40002", "10.9.0.6:5432", linux.TimerKeepalive, 25_000, 200*time.Second, 13),   // kept alive in time
		sock("10.0.0.1:40003", "192.0.2.1:443", linux.TimerKeepalive, 600_000, 10*time.Second, 14),   // long interval
		sock("10.0.0.1:40004", "192.0.2.1:443", linux.TimerKeepalive, 7_000_000, 300*time.Second, 0), // long + at risk
		sock("10.0.0.1:22", "203.0.113.9:50000", linux.TimerRetrans, 200, 0, 16),                     // busy
		sock("10.0.0.1:40005", "10.9.0.5:5432", linux.TimerKeepalive, 90_000, -1, 17),                // == idle timeout, no tcp_info
	}
	listen := sock("0.0.0.0:5432", "0.0.0.0:0", linux.TimerNone, 0, -1, 18)
	listen.State = linux.TCPListen
	sockets = append(sockets, listen)

	cases := []struct {
		name                          string
		f                             Filter
		total, noKA, long, risk, busy int
	}{
		{"all", Filter{}, 7, 2, 2, 2, 1},
		{"port 5432", Filter{Ports: []plugin.Port{5432}}, 4, 2, 0, 1, 0},
		{"port 22 or 443", Filter{Ports: []plugin.Port{22, 443}}, 3, 0, 2, 1, 1},
		{"remote 192.0.2.0/24", Filter{Remotes: []plugin.Prefix{{Prefix: netip.MustParsePrefix("192.0.2.0/24")}}}, 2, 0, 2, 1, 0},
		{"remote and port", Filter{Ports: []plugin.Port{5432}, Remotes: []plugin.Prefix{{Prefix: netip.MustParsePrefix("10.9.0.6/32")}}}, 1, 0, 0, 0, 0},
		{"inodes", Filter{Inodes: map[uint64]bool{12: true, 14: true, 18: true}}, 2, 1, 1, 1, 0},
		{"no inodes", Filter{Inodes: map[uint64]bool{}}, 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		a := NewAudit(90*time.Second, c.f)
		for i := range sockets {
			if err := a.Add(&sockets[i]); err != nil {
				t.Fatal(err)
			}
		}
		if a.Total != c.total || a.NoKeepalive != c.noKA || a.LongGap != c.long || a.AtRisk != c.risk || a.Busy != c.busy {
			t.Errorf("%s: total %d noKA %d long %d risk %d busy %d; want %d %d %d %d %d", c.name,
				a.Total, a.NoKeepalive, a.LongGap, a.AtRisk, a.Busy, c.total, c.noKA, c.long, c.risk, c.busy)
		}
	}
}

func TestSocketFindings(t *testing.T) {
	a := NewAudit(90*time.Second, Filter{})
	for i := range 12 {
		s := sock("10.0.0.1:40000", "10.9.0.5:5432", linux.TimerNone, 0, time.Duration(100+i)*time.Second, uint64(i+1))
		_ = a.Add(&s)
	}
	for _, c := range []struct {
		warn, crit string
		want       plugin.State
	}{{"1", "", plugin.Warning}, {"12", "", plugin.OK}, {"1", "11", plugin.Critical}, {"~:", "", plugin.OK}} {
		args := []string{"-w", c.warn}
		if c.crit != "" {
			args = append(args, "-c", c.crit)
		}
		res := Judge(&Observation{Audit: a}, testenv.ParseOptions[Options](t, args...))
		res.Findings = res.Findings[1:] // the host finding of the zero sysctls
		f := res.Findings[0]
		if f.State != c.want {
			t.Errorf("-w %s -c %s: %s, want %s", c.warn, c.crit, f.State, c.want)
		}
		if f.Text != "12 established sockets: 12 without keepalive, 0 with a keepalive timer above 90s, 12 idle longer than 90s" {
			t.Errorf("text %q", f.Text)
		}
		// Examples are capped: 5 of each kind, plus the fix hint.
		if len(f.Details) != 2*sampleMax+1 {
			t.Errorf("%d detail lines, want %d: %q", len(f.Details), 2*sampleMax+1, f.Details)
		}
	}
}

// TestAuditAllocations: the audit itself allocates nothing per socket.
func TestAuditAllocations(t *testing.T) {
	sockets := make([]linux.Socket, 1000)
	for i := range sockets {
		sockets[i] = sock("10.0.0.1:40000", "10.9.0.5:5432", uint8(i%3), uint32(i)*1000, time.Duration(i)*time.Second, uint64(i))
	}
	inodes := map[uint64]bool{}
	for i := range 500 {
		inodes[uint64(i*2)] = true
	}
	a := NewAudit(90*time.Second, Filter{Inodes: inodes, Ports: []plugin.Port{5432}, Remotes: []plugin.Prefix{{Prefix: netip.MustParsePrefix("10.0.0.0/8")}}})
	allocs := testing.AllocsPerRun(10, func() {
		for i := range sockets {
			_ = a.Add(&sockets[i])
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 1000 sockets, want 0", allocs)
	}
}

func BenchmarkAuditAdd(b *testing.B) {
	s := sock("10.0.0.1:40000", "10.9.0.5:5432", linux.TimerKeepalive, 120_000, 200*time.Second, 7)
	a := NewAudit(90*time.Second, Filter{Ports: []plugin.Port{5432}})
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Add(&s)
	}
}

// diagMsg encodes an inet_diag_msg with a tcp_info attribute, as the
// kernel sends it.
func diagMsg(state, timer uint8, sport, dport uint16, expiresMs, inode, lastSentMs, lastRecvMs uint32, infoLen int) []byte {
	ne := binary.NativeEndian
	b := make([]byte, 72)
	b[0], b[1], b[2] = unix.AF_INET, state, timer
	binary.BigEndian.PutUint16(b[4:6], sport)
	binary.BigEndian.PutUint16(b[6:8], dport)
	copy(b[8:12], []byte{127, 0, 0, 1})
	copy(b[24:28], []byte{127, 0, 0, 1})
	ne.PutUint32(b[52:56], expiresMs)
	ne.PutUint32(b[68:72], inode)
	if infoLen > 0 {
		attr := make([]byte, 4+infoLen)
		ne.PutUint16(attr[0:2], uint16(len(attr)))
		ne.PutUint16(attr[2:4], 2)
		info := attr[4:]
		info[0] = state
		ne.PutUint32(info[44:48], lastSentMs)
		ne.PutUint32(info[52:56], lastRecvMs)
		b = append(b, attr...)
	}
	return b
}

// FuzzAuditDiagMsg feeds decoded kernel messages to the audit: whatever
// the bytes, it never panics and its counts stay consistent.
func FuzzAuditDiagMsg(f *testing.F) {
	f.Add(diagMsg(linux.TCPEstablished, linux.TimerKeepalive, 40000, 5432, 600_000, 7, 100_000, 95_000, 232))
	f.Add(diagMsg(linux.TCPEstablished, linux.TimerNone, 40000, 5432, 0, 8, 1_000, 2_000, 248))
	f.Add(diagMsg(linux.TCPEstablished, linux.TimerRetrans, 22, 50000, 200, 9, 0, 0, 104))
	f.Add(diagMsg(linux.TCPEstablished, linux.TimerNone, 1, 2, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := linux.DecodeDiagMsg(b)
		if err != nil {
			return
		}
		a := NewAudit(90*time.Second, Filter{Ports: []plugin.Port{5432}})
		all := NewAudit(2*time.Second, Filter{})
		for _, x := range []*Audit{a, all} {
			if err := x.Add(&s); err != nil {
				t.Fatal(err)
			}
			if x.Total > 1 || x.NoKeepalive+x.Busy > x.Total || x.LongGap > x.Total || x.AtRisk > x.Total {
				t.Fatalf("inconsistent counts %+v", x)
			}
			for k := range kinds {
				_ = x.examples(k)
			}
		}
	})
}

func FuzzParseIdleTimeout(f *testing.F) {
	for _, s := range []string{"90", "90s", "aws-nat", "conntrack", "1.5", "-1", "1e9", "x", "2h3m", "NaN", "inf", "1.57"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseIdleTimeout(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if v.D <= 0 {
			t.Fatalf("%q parsed to %v", s, v.D)
		}
		m, _ := v.MarshalFlag()
		back, err := ParseIdleTimeout(m)
		if err != nil || back.D != v.D {
			t.Fatalf("%q -> %q -> %v, %v", s, m, back, err)
		}
	})
}
