package tcpwindow

import (
	"fmt"
	"math/bits"

	"github.com/opschecks/opschecks/internal/linux"
)

// MaxWscale is TCP_MAX_WSCALE, the largest shift RFC 7323 allows.
const MaxWscale = 14

// maxWindow is the largest window an unscaled 16-bit field can carry.
const maxWindow = 65535

// Sysctls are the settings of this network namespace that decide the
// window scale it advertises.
type Sysctls struct {
	WindowScaling int64   // net.ipv4.tcp_window_scaling
	Rmem          []int64 // net.ipv4.tcp_rmem: min default max
	Wmem          []int64 // net.ipv4.tcp_wmem: min default max
	RmemMax       int64   // net.core.rmem_max
}

// ReadSysctls reads the window-scaling sysctls through fs. Network
// sysctls are those of the reading thread's network namespace.
func ReadSysctls(fs linux.FS) (Sysctls, error) {
	var s Sysctls
	var err error
	if s.WindowScaling, err = fs.SysctlInt("net.ipv4.tcp_window_scaling"); err != nil {
		return s, err
	}
	if s.Rmem, err = fs.SysctlInts("net.ipv4.tcp_rmem"); err != nil {
		return s, err
	}
	if len(s.Rmem) != 3 {
		return s, fmt.Errorf("sysctl net.ipv4.tcp_rmem: expected 3 integers (min default max), got %d", len(s.Rmem))
	}
	if s.Wmem, err = fs.SysctlInts("net.ipv4.tcp_wmem"); err != nil {
		return s, err
	}
	if len(s.Wmem) != 3 {
		return s, fmt.Errorf("sysctl net.ipv4.tcp_wmem: expected 3 integers (min default max), got %d", len(s.Wmem))
	}
	if s.RmemMax, err = fs.SysctlInt("net.core.rmem_max"); err != nil {
		return s, err
	}
	return s, nil
}

// AdvertisedWscale is the shift this host puts into its SYN and SYN-ACK
// for a socket whose receive buffer the application did not fix, the way
// tcp_select_initial_window() picks it: the largest buffer the socket
// may grow to, max(tcp_rmem[2], rmem_max), capped at the largest
// representable window, then ilog2(space)-15 clamped to 0..14. With
// window scaling off the kernel sends no option at all (shift 0).
func AdvertisedWscale(s Sysctls) int {
	if s.WindowScaling == 0 {
		return 0
	}
	return wscaleForSpace(max(s.Rmem[2], s.RmemMax))
}

func wscaleForSpace(space int64) int {
	const clamp = maxWindow << MaxWscale
	// The kernel does this arithmetic in u32 after reading the int
	// sysctls, so negative values count as 0.
	space = min(max(space, 0), clamp)
	if space == 0 {
		return 0
	}
	lg := bits.Len64(uint64(space)) - 1
	return min(max(lg-15, 0), MaxWscale)
}

// largestSpaceFor is the largest buffer maximum that still gives a
// wscale of at most w.
func largestSpaceFor(w int) int64 { return int64(1)<<(w+16) - 1 }
