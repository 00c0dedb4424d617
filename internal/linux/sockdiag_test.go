package linux_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
)

// diagMsg builds an inet_diag_msg (72 bytes) followed by attributes, in
// the layout of include/uapi/linux/inet_diag.h.
type diagMsg struct {
	family, state, timer, retrans uint8
	src, dst                      netip.AddrPort
	expires, rq, wq, uid, inode   uint32
}

func (m diagMsg) bytes(attrs ...[]byte) []byte {
	b := make([]byte, 72)
	b[0], b[1], b[2], b[3] = m.family, m.state, m.timer, m.retrans
	binary.BigEndian.PutUint16(b[4:6], m.src.Port())
	binary.BigEndian.PutUint16(b[6:8], m.dst.Port())
	s, d := m.src.Addr().As16(), m.dst.Addr().As16()
	if m.family == unix.AF_INET {
		s4, d4 := m.src.Addr().As4(), m.dst.Addr().As4()
		copy(b[8:12], s4[:])
		copy(b[24:28], d4[:])
	} else {
		copy(b[8:24], s[:])
		copy(b[24:40], d[:])
	}
	ne := binary.NativeEndian
	ne.PutUint32(b[52:], m.expires)
	ne.PutUint32(b[56:], m.rq)
	ne.PutUint32(b[60:], m.wq)
	ne.PutUint32(b[64:], m.uid)
	ne.PutUint32(b[68:], m.inode)
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// attr builds an rtattr, padded to 4 bytes; length overrides the length
// field when non-zero (to fake truncation).
func attr(typ uint16, payload []byte, length int) []byte {
	l := 4 + len(payload)
	if length != 0 {
		l = length
	}
	b := make([]byte, 4, 4+len(payload)+3)
	binary.NativeEndian.PutUint16(b[0:2], uint16(l))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

const (
	attrMeminfo = 1
	attrInfo    = 2
	attrCong    = 4
)

func TestDecodeDiagMsg(t *testing.T) {
	v4 := diagMsg{family: unix.AF_INET, state: linux.TCPEstablished, timer: linux.TimerKeepalive, retrans: 1,
		src: netip.MustParseAddrPort("10.201.1.2:40000"), dst: netip.MustParseAddrPort("10.201.1.1:7000"),
		expires: 7199000, rq: 3, wq: 5, uid: 1000, inode: 424242}
	v6 := v4
	v6.family = unix.AF_INET6
	v6.src = netip.MustParseAddrPort("[fd00::2]:40000")
	v6.dst = netip.MustParseAddrPort("[::ffff:10.0.0.1]:443") // mapped: decoded unmapped
	info232 := readHex(t, "tcpinfo/size-232.hex")
	info248 := readHex(t, "tcpinfo/size-248.hex")
	for _, tc := range []struct {
		name     string
		b        []byte
		want     diagMsg
		infoLen  int // 0: no Info expected
		dst      string
		err      string
		noErrLen bool
	}{
		{name: "v4 no attributes", b: v4.bytes(), want: v4, dst: "10.201.1.1:7000"},
		{name: "v4 info 232 after meminfo", b: v4.bytes(attr(attrMeminfo, make([]byte, 16), 0), attr(attrInfo, info232, 0)), want: v4, infoLen: 232, dst: "10.201.1.1:7000"},
		{name: "v6 info 248 then congestion name", b: v6.bytes(attr(attrInfo, info248, 0), attr(attrCong, []byte("cubic\x00"), 0)), want: v6, infoLen: 248, dst: "10.0.0.1:443"},
		{name: "short message", b: v4.bytes()[:71], err: "inet_diag message is 71 bytes, expected at least 72"},
		{name: "unknown family", b: diagMsg{family: 99}.bytes(), err: "unknown family 99"},
		{name: "attribute longer than the message", b: v4.bytes(attr(attrInfo, info232, 300)), err: "inet_diag attribute of length 300 in 236 bytes"},
		{name: "attribute length below its header", b: v4.bytes(attr(attrMeminfo, make([]byte, 4), 3)), err: "inet_diag attribute of length 3"},
		{name: "truncated tcp_info", b: v4.bytes(attr(attrInfo, info232[:100], 0)), err: "tcp_info is 100 bytes, expected at least 104"},
		{name: "info attribute cut off by the message end", b: v4.bytes(attr(attrInfo, info232, 0))[:72+4+150], err: "inet_diag attribute of length 236 in 154 bytes"},
		{name: "trailing bytes shorter than a header", b: append(v4.bytes(), 1, 2), want: v4, dst: "10.201.1.1:7000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := linux.DecodeDiagMsg(tc.b)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if s.Family != w.family || s.State != w.state || s.Timer != w.timer || s.Retrans != w.retrans ||
				s.Expires != w.expires || s.RQueue != w.rq || s.WQueue != w.wq || s.UID != w.uid || s.Inode != uint64(w.inode) {
				t.Errorf("decoded %+v, want %+v", s, w)
			}
			if s.Src.Port() != w.src.Port() || s.Src.Addr() != w.src.Addr().Unmap() || s.Dst.String() != tc.dst {
				t.Errorf("addresses %s -> %s, want %s -> %s", s.Src, s.Dst, w.src, tc.dst)
			}
			switch {
			case tc.infoLen == 0 && s.Info != nil:
				t.Errorf("Info %+v without an INET_DIAG_INFO attribute", s.Info)
			case tc.infoLen != 0 && s.Info == nil:
				t.Errorf("no Info")
			case tc.infoLen != 0:
				if s.Info.Len != tc.infoLen || s.Info.SndWscale != 10 || s.Info.RcvWscale != 7 || s.Info.SndWnd != 4194304 {
					t.Errorf("Info %+v", *s.Info)
				}
			}
		})
	}
}

func FuzzDecodeDiagMsg(f *testing.F) {
	v4 := diagMsg{family: unix.AF_INET, state: 1, src: netip.MustParseAddrPort("127.0.0.1:1"), dst: netip.MustParseAddrPort("127.0.0.1:2")}
	v6 := diagMsg{family: unix.AF_INET6, state: 1, src: netip.MustParseAddrPort("[::1]:1"), dst: netip.MustParseAddrPort("[::1]:2")}
	info := readHex(f, "tcpinfo/size-240.hex")
	f.Add(v4.bytes())
	f.Add(v4.bytes(attr(attrInfo, info, 0)))
	f.Add(v6.bytes(attr(attrMeminfo, make([]byte, 16), 0), attr(attrInfo, info, 0)))
	f.Add(v4.bytes(attr(attrInfo, info, 400)))
	f.Add(v4.bytes(attr(attrInfo, info[:50], 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := linux.DecodeDiagMsg(b)
		if err != nil {
			return
		}
		if len(b) < 72 {
			t.Fatalf("%d bytes accepted", len(b))
		}
		if s.Family != unix.AF_INET && s.Family != unix.AF_INET6 {
			t.Fatalf("family %d accepted", s.Family)
		}
		if s.Info != nil && (s.Info.Len < linux.TCPInfoMinLen || s.Info.Len > len(b)-72-4) {
			t.Fatalf("tcp_info of %d bytes from a %d-byte message", s.Info.Len, len(b))
		}
	})
}

func TestEncodeDiagRequest(t *testing.T) {
	q := linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true}
	b := linux.EncodeDiagRequest(unix.AF_INET6, q)
	if len(b) != 56 || b[0] != unix.AF_INET6 || b[1] != unix.IPPROTO_TCP || b[2] != 1<<(attrInfo-1) {
		t.Fatalf("request % x", b[:8])
	}
	if got := binary.NativeEndian.Uint32(b[4:8]); got != 1<<linux.TCPEstablished {
		t.Errorf("state mask %#x, want %#x", got, 1<<linux.TCPEstablished)
	}
	if b := linux.EncodeDiagRequest(unix.AF_INET, linux.Query{States: 1}); b[2] != 0 {
		t.Errorf("ext %#x without Info", b[2])
	}
}

// TestDumpTCPLoopback asks the real kernel for a loopback connection made
// by the test and compares what sock_diag says with the socket's own
// TCP_INFO.
func TestDumpTCPLoopback(t *testing.T) {
	client, server := loopbackPair(t)
	ci := tcpInfoOf(t, client)
	local := netip.MustParseAddrPort(client.LocalAddr().String())
	remote := netip.MustParseAddrPort(client.RemoteAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	find := func(states uint32, info bool) (found []linux.Socket) {
		t.Helper()
		err := linux.DumpTCP(ctx, linux.Query{States: states, Info: info}, func(s *linux.Socket) error {
			if s.Src == local || s.Dst == local || s.Src == remote {
				found = append(found, s.Clone())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	est := find(linux.StateMask(linux.TCPEstablished), true)
	var cs, ss *linux.Socket
	for i := range est {
		if est[i].State != linux.TCPEstablished {
			t.Errorf("state %d in an ESTABLISHED-only dump", est[i].State)
		}
		switch {
		case est[i].Src == local && est[i].Dst == remote:
			cs = &est[i]
		case est[i].Src == remote && est[i].Dst == local:
			ss = &est[i]
		}
	}
	if len(est) != 2 || cs == nil || ss == nil {
		t.Fatalf("want both ends of %s -> %s, got %+v", local, remote, est)
	}
	// Each end against its own getsockopt: the two ends advertise
	// different shifts, so an end reported with the other's tcp_info
	// (a kept Socket sharing the dump's reused Info) fails here whatever
	// order the kernel lists them in.
	for _, end := range []struct {
		name string
		s    *linux.Socket
		want linux.TCPInfo
	}{{"client", cs, ci}, {"server", ss, tcpInfoOf(t, server)}} {
		got := end.s.Info
		if got == nil {
			t.Fatalf("%s: no tcp_info although asked for", end.name)
		}
		if got.SndWscale != end.want.SndWscale || got.RcvWscale != end.want.RcvWscale || got.Len != end.want.Len || !got.WscaleOK() {
			t.Errorf("%s: sock_diag tcp_info %+v differs from getsockopt %+v", end.name, *got, end.want)
		}
	}
	if cs.Inode == 0 {
		t.Error("inode 0")
	}

	// Without Info no tcp_info; a LISTEN-only query sees the listener
	// and neither established end.
	for _, s := range find(linux.StateMask(linux.TCPEstablished), false) {
		if s.Info != nil {
			t.Errorf("tcp_info without asking: %+v", s)
		}
	}
	listen := find(linux.StateMask(linux.TCPListen), false)
	if len(listen) != 1 || listen[0].State != linux.TCPListen || listen[0].Src != remote {
		t.Errorf("LISTEN dump: %+v, want the listener on %s", listen, remote)
	}
}

func TestDumpTCPDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	start := time.Now()
	err := linux.DumpTCP(ctx, linux.Query{States: linux.StateMask(linux.TCPEstablished)}, func(*linux.Socket) error { return nil })
	// A dump may finish before the receive timeout bites; it must not hang.
	if time.Since(start) > 2*time.Second {
		t.Fatalf("DumpTCP took %s past its deadline (err %v)", time.Since(start), err)
	}
}
