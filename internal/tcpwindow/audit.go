package tcpwindow

import (
	"fmt"
	"math/bits"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
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

// audit adds the local findings. quiet keeps an OK audit out of the
// summary when a probe or the passive scan is the main subject.
func audit(res *plugin.Result, cfg Config, s Sysctls, quiet bool) {
	w := AdvertisedWscale(s)
	perf := plugin.Perf{Label: "advertised_wscale", Value: float64(w), Min: plugin.F(0), Max: plugin.F(MaxWscale)}
	if cfg.MaxWscale >= 0 && cfg.MaxWscale < MaxWscale {
		perf.Thresholds.Warn = &thresholds.Range{Start: 0, End: float64(cfg.MaxWscale)}
	}
	if s.WindowScaling == 0 {
		ceiling := Ceiling(maxWindow, cfg.RTT)
		f := res.Add(plugin.Warning, fmt.Sprintf("window scaling disabled here (net.ipv4.tcp_window_scaling=0): every window is capped at 64 KiB, at most %s at %s RTT",
			FormatBits(ceiling), FormatDuration(cfg.RTT)), perf,
			plugin.Perf{Label: "local_ceiling_bps", Value: ceiling, Min: plugin.F(0)})
		f.Detailf("fix: sysctl -w net.ipv4.tcp_window_scaling=1 and keep it in /etc/sysctl.d/ (it is per network namespace)")
		f.Detailf("if it was turned off to work around a middlebox that mangles the option, limit the advertised wscale instead (--max-wscale shows the tcp_rmem values)")
		return
	}
	ceiling := Ceiling(float64(int64(maxWindow)<<w), cfg.RTT)
	pc := plugin.Perf{Label: "local_ceiling_bps", Value: ceiling, Min: plugin.F(0)}
	text := fmt.Sprintf("this host advertises wscale %d (tcp_rmem max %d B, rmem_max %d B)", w, s.Rmem[2], s.RmemMax)
	if cfg.MaxWscale >= 0 && w > cfg.MaxWscale {
		f := res.Add(plugin.Warning, fmt.Sprintf("%s, above --max-wscale %d", text, cfg.MaxWscale), perf, pc)
		lim := largestSpaceFor(cfg.MaxWscale)
		f.Detailf("current: net.ipv4.tcp_rmem = %d %d %d, net.core.rmem_max = %d, net.ipv4.tcp_wmem = %d %d %d",
			s.Rmem[0], s.Rmem[1], s.Rmem[2], s.RmemMax, s.Wmem[0], s.Wmem[1], s.Wmem[2])
		f.Detailf("to advertise wscale %d: both tcp_rmem max and rmem_max at most %d B, e.g. sysctl -w net.ipv4.tcp_rmem='%d %d %d' net.core.rmem_max=%d",
			cfg.MaxWscale, lim, min(s.Rmem[0], lim), min(s.Rmem[1], lim), lim, min(s.RmemMax, lim))
		f.Detailf("tcp_wmem (now %d %d %d) only sizes our send buffer: it does not change the advertised wscale and can stay as it is",
			s.Wmem[0], s.Wmem[1], s.Wmem[2])
		f.Detailf("a smaller wscale lowers the throughput ceiling to about %s at %s RTT; the better fix is a middlebox that keeps the option", FormatBits(Ceiling(float64(int64(maxWindow)<<cfg.MaxWscale), cfg.RTT)), FormatDuration(cfg.RTT))
		return
	}
	f := res.Add(plugin.OK, text, perf, pc)
	f.Quiet = quiet
	f.Detailf("window scaling on; windows up to %d B, at most %s at %s RTT", int64(maxWindow)<<w, FormatBits(ceiling), FormatDuration(cfg.RTT))
}
