package linux_test

import (
	"bufio"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
)

// readHex loads a fixture written as hex bytes, '#' lines being comments.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, b...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fixtureInfo is what every fixture under testdata/tcpinfo holds in the
// fields a kernel of its size reports.
var fixtureInfo = linux.TCPInfo{
	State: 1, Options: linux.TCPIOptTimestamps | linux.TCPIOptSACK | linux.TCPIOptWscale,
	SndWscale: 10, RcvWscale: 7,
	RTO: 204 * time.Millisecond, SndMSS: 1448, RcvMSS: 536,
	LastDataSent: 12 * time.Millisecond, LastDataRecv: 34 * time.Millisecond, LastAckRecv: 56 * time.Millisecond,
	RTT: 1234 * time.Microsecond, RTTVar: 567 * time.Microsecond,
	SndCwnd: 10, AdvMSS: 1448, RcvSpace: 14480, TotalRetrans: 3,
}

func TestDecodeTCPInfoSizes(t *testing.T) {
	for _, tc := range []struct {
		file           string
		size           int
		sndWnd, rcvWnd bool
		err            string
	}{
		{file: "size-103.hex", err: "tcp_info is 103 bytes, expected at least 104"},
		{file: "size-104.hex", size: 104},                             // before 5.4
		{file: "size-232.hex", size: 232, sndWnd: true},               // 5.4: tcpi_snd_wnd
		{file: "size-240.hex", size: 240, sndWnd: true, rcvWnd: true}, // 6.2: tcpi_rcv_wnd, tcpi_rehash
		{file: "size-248.hex", size: 248, sndWnd: true, rcvWnd: true}, // 6.7: total_rto*
		{file: "size-280.hex", size: 280, sndWnd: true, rcvWnd: true}, // 6.18: AccECN counters
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := readHex(t, "tcpinfo/"+tc.file)
			got, err := linux.DecodeTCPInfo(b)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := fixtureInfo
			want.Len = tc.size
			if tc.sndWnd {
				want.SndWnd, want.HasSndWnd = 4194304, true
			}
			if tc.rcvWnd {
				want.RcvWnd, want.HasRcvWnd = 131072, true
			}
			if got != want {
				t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
			}
			if !got.WscaleOK() {
				t.Error("WscaleOK false with the WSCALE option bit set")
			}
		})
	}
}

func TestDecodeTCPInfoShort(t *testing.T) {
	for _, n := range []int{0, 1, 7, 103} {
		if _, err := linux.DecodeTCPInfo(make([]byte, n)); err == nil {
			t.Errorf("%d bytes decoded without error", n)
		}
	}
}

// TestDecodeTCPInfoWscaleNibbles pins the bitfield order: snd_wscale in
// the low nibble of byte 6, rcv_wscale in the high one.
func TestDecodeTCPInfoWscaleNibbles(t *testing.T) {
	for _, tc := range []struct {
		b6       byte
		snd, rcv uint8
	}{{0x00, 0, 0}, {0x07, 7, 0}, {0x70, 0, 7}, {0x2e, 14, 2}, {0xe2, 2, 14}, {0xff, 15, 15}} {
		b := make([]byte, linux.TCPInfoLenSndWnd)
		b[6] = tc.b6
		got, err := linux.DecodeTCPInfo(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.SndWscale != tc.snd || got.RcvWscale != tc.rcv {
			t.Errorf("byte 6 = %#02x: snd %d rcv %d, want snd %d rcv %d", tc.b6, got.SndWscale, got.RcvWscale, tc.snd, tc.rcv)
		}
	}
}

// smallRcvbuf sets SO_RCVBUF before connect/listen, which makes the
// kernel clamp the window and advertise a small wscale on that side.
func smallRcvbuf(size int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, size)
		}); err != nil {
			return err
		}
		return serr
	}
}

func tcpInfoOf(t *testing.T, c net.Conn) linux.TCPInfo {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ti linux.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) { ti, ierr = linux.SocketTCPInfo(fd) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatal(ierr)
	}
	return ti
}

// loopbackPair connects a client whose receive buffer is small (so its
// wscale is small) to a listener with default buffers (a large wscale).
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	d := net.Dialer{Timeout: 5 * time.Second, Control: smallRcvbuf(4096)}
	client, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("accept timed out")
	}
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TestSocketTCPInfoLoopbackWscale checks the nibble order against the
// kernel itself: the two ends of one connection advertise different
// shifts, and each end's snd_wscale must be the other's rcv_wscale.
func TestSocketTCPInfoLoopbackWscale(t *testing.T) {
	client, server := loopbackPair(t)
	ci, si := tcpInfoOf(t, client), tcpInfoOf(t, server)
	t.Logf("client: snd_wscale %d rcv_wscale %d (%d bytes); server: snd_wscale %d rcv_wscale %d",
		ci.SndWscale, ci.RcvWscale, ci.Len, si.SndWscale, si.RcvWscale)
	if !ci.WscaleOK() || !si.WscaleOK() {
		t.Fatalf("window scaling not negotiated on loopback (options %#x / %#x)", ci.Options, si.Options)
	}
	if ci.SndWscale != si.RcvWscale || ci.RcvWscale != si.SndWscale {
		t.Errorf("the ends disagree: client snd/rcv %d/%d, server snd/rcv %d/%d", ci.SndWscale, ci.RcvWscale, si.SndWscale, si.RcvWscale)
	}
	// The client's 4 KiB receive buffer gives it the smaller shift; a
	// decoder that swaps the nibbles sees the opposite.
	if ci.RcvWscale >= ci.SndWscale {
		t.Errorf("client (SO_RCVBUF 4096) rcv_wscale %d not below the server's %d: nibbles swapped?", ci.RcvWscale, ci.SndWscale)
	}
	if ci.State != linux.TCPEstablished || si.State != linux.TCPEstablished {
		t.Errorf("states %d/%d, want ESTABLISHED", ci.State, si.State)
	}
	if ci.Len < linux.TCPInfoMinLen || ci.SndMSS == 0 {
		t.Errorf("implausible tcp_info: %+v", ci)
	}
}

func FuzzDecodeTCPInfo(f *testing.F) {
	for _, n := range []string{"size-103.hex", "size-104.hex", "size-232.hex", "size-240.hex", "size-248.hex", "size-280.hex"} {
		f.Add(readHex(f, "tcpinfo/"+n))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ti, err := linux.DecodeTCPInfo(b)
		if err != nil {
			if len(b) >= linux.TCPInfoMinLen {
				t.Fatalf("%d bytes rejected: %v", len(b), err)
			}
			return
		}
		if len(b) < linux.TCPInfoMinLen {
			t.Fatalf("%d bytes accepted", len(b))
		}
		if ti.Len != len(b) || ti.HasSndWnd != (len(b) >= linux.TCPInfoLenSndWnd) || ti.HasRcvWnd != (len(b) >= linux.TCPInfoLenRcvWnd) {
			t.Fatalf("len %d: Len %d HasSndWnd %v HasRcvWnd %v", len(b), ti.Len, ti.HasSndWnd, ti.HasRcvWnd)
		}
		if ti.SndWscale > 15 || ti.RcvWscale > 15 || ti.SndWscale|ti.RcvWscale<<4 != b[6] {
			t.Fatalf("nibbles %d/%d from %#02x", ti.SndWscale, ti.RcvWscale, b[6])
		}
	})
}
