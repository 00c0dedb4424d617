package linux

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TCP_INFO option bits (tcpi_options).
const (
	TCPIOptTimestamps = 1
	TCPIOptSACK       = 2
	TCPIOptWscale     = 4
	TCPIOptECN        = 8
)

// Sizes of struct tcp_info by kernel: the fields up to tcpi_snd_wnd (5.4),
// tcpi_rehash (6.2, with tcpi_rcv_wnd) and tcpi_total_rto_time (6.7).
const (
	TCPInfoMinLen     = 104 // through tcpi_total_retrans: older kernels we still decode
	TCPInfoLenSndWnd  = 232
	TCPInfoLenRcvWnd  = 240
	TCPInfoLenTotalRT = 248
)

// TCPInfo is the part of struct tcp_info the checks use. Fields a kernel
// does not report have their Has* flag false.
type TCPInfo struct {
	State        uint8
	Options      uint8 // TCPIOpt* bits
	SndWscale    uint8 // the peer's shift, applied to windows it advertises
	RcvWscale    uint8 // our shift
	RTO          time.Duration
	SndMSS       uint32
	RcvMSS       uint32
	LastDataSent time.Duration
	LastDataRecv time.Duration
	LastAckRecv  time.Duration
	RTT          time.Duration
	RTTVar       time.Duration
	SndCwnd      uint32
	AdvMSS       uint32
	RcvSpace     uint32
	TotalRetrans uint32
	SndWnd       uint32 // the peer's advertised window, scaled (5.4+)
	RcvWnd       uint32 // our advertised window (6.2+)
	HasSndWnd    bool
	HasRcvWnd    bool
	Len          int // bytes the kernel reported
}

// WscaleOK reports whether window scaling was negotiated on the
// connection.
func (t *TCPInfo) WscaleOK() bool { return t.Options&TCPIOptWscale != 0 }

// DecodeTCPInfo decodes struct tcp_info from raw bytes, as they come from
// getsockopt(TCP_INFO) or an INET_DIAG_INFO attribute. The wscale nibbles
// are read from byte 6 directly: snd_wscale is the low nibble, rcv_wscale
// the high one (the bitfield order of little- and big-endian GCC alike for
// this declaration order on the architectures Go supports here).
func DecodeTCPInfo(b []byte) (TCPInfo, error) {
	if len(b) < TCPInfoMinLen {
		return TCPInfo{}, fmt.Errorf("tcp_info is %d bytes, expected at least %d", len(b), TCPInfoMinLen)
	}
	le := binary.NativeEndian
	u32 := func(off int) uint32 { return le.Uint32(b[off : off+4]) }
	us := func(off int) time.Duration { return time.Duration(u32(off)) * time.Microsecond }
	ms := func(off int) time.Duration { return time.Duration(u32(off)) * time.Millisecond }
	t := TCPInfo{
		State:        b[0],
		Options:      b[5],
		SndWscale:    b[6] & 0x0f,
		RcvWscale:    b[6] >> 4,
		RTO:          us(8),
		SndMSS:       u32(16),
		RcvMSS:       u32(20),
		LastDataSent: ms(44),
		LastDataRecv: ms(52),
		LastAckRecv:  ms(56),
		RTT:          us(68),
		RTTVar:       us(72),
		SndCwnd:      u32(80),
		AdvMSS:       u32(84),
		RcvSpace:     u32(96),
		TotalRetrans: u32(100),
		Len:          len(b),
	}
	if len(b) >= TCPInfoLenSndWnd {
		t.SndWnd, t.HasSndWnd = u32(228), true
	}
	if len(b) >= TCPInfoLenRcvWnd {
		t.RcvWnd, t.HasRcvWnd = u32(232), true
	}
	return t, nil
}

// SocketTCPInfo reads TCP_INFO of one of our own sockets, as raw bytes so
// that the same decoder serves both sources.
func SocketTCPInfo(fd uintptr) (TCPInfo, error) {
	buf := make([]byte, 512)
	l := uint32(len(buf))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return TCPInfo{}, fmt.Errorf("getsockopt TCP_INFO: %v", errno)
	}
	return DecodeTCPInfo(buf[:l])
}
