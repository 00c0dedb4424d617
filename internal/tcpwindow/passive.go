package tcpwindow

import (
	"context"
	"fmt"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// maxListed bounds the connections named in the details.
const maxListed = 10

// Verdict classifies one established connection by its tcp_info.
type Verdict int

// Connection verdicts.
const (
	Scaled   Verdict = iota // window scaling negotiated
	Unscaled                // not negotiated, window plausible: 64 KiB cap
	Mangled                 // not negotiated, yet the peer's window is tiny
)

// Classify looks at one connection: the mangled signature is a peer
// window below minWindow on a connection where we did not negotiate
// scaling (the peer did, and its shifted windows reach us unshifted).
func Classify(ti *linux.TCPInfo, minWindow int) Verdict {
	switch {
	case ti.WscaleOK():
		return Scaled
	case ti.HasSndWnd && ti.SndWnd < uint32(minWindow):
		return Mangled
	}
	return Unscaled
}

// scan is the passive mode: the established sockets of this network
// namespace, from sock_diag with tcp_info, asked of the kernel by state.
func scan(ctx context.Context, res *plugin.Result, cfg Config, verbose int) error {
	var total, mangled, unscaled, noInfo int
	var listM, listU []string
	port, remote := uint16(cfg.Port), cfg.Remote
	err := linux.DumpTCP(ctx, linux.Query{States: linux.StateMask(linux.TCPEstablished), Info: true}, func(s *linux.Socket) error {
		if port != 0 && s.Src.Port() != port && s.Dst.Port() != port {
			return nil
		}
		if remote.IsValid() && !remote.Contains(s.Dst.Addr().Unmap()) {
			return nil
		}
		total++
		if s.Info == nil {
			noInfo++
			return nil
		}
		switch Classify(s.Info, cfg.MinWindow) {
		case Mangled:
			mangled++
			if len(listM) < maxListed {
				listM = append(listM, fmt.Sprintf("%s -> %s: peer window %d B, no window scaling on our side (peer scales, we read it unscaled)", s.Src, s.Dst, s.Info.SndWnd))
			}
		case Unscaled:
			unscaled++
			if len(listU) < maxListed {
				listU = append(listU, fmt.Sprintf("%s -> %s: no window scaling, window capped at 64 KiB (peer window %s)", s.Src, s.Dst, optBytes(s.Info.SndWnd, s.Info.HasSndWnd)))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	perf := []plugin.Perf{
		{Label: "established", Value: float64(total), Min: plugin.F(0)},
		{Label: "mangled", Value: float64(mangled), Min: plugin.F(0)},
		{Label: "unscaled", Value: float64(unscaled), Min: plugin.F(0)},
	}
	what := "established connections"
	if port != 0 || remote.IsValid() {
		what = "matching established connections"
	}
	if mangled > 0 {
		f := res.Add(plugin.Critical, fmt.Sprintf("%d of %d %s show a mangled window scale (peer window below %d B without scaling)", mangled, total, what, cfg.MinWindow), perf...)
		perf = nil
		listDetails(f, listM, mangled)
		f.Detailf("likely cause: a middlebox strips the window-scale option from the peers' SYN-ACKs; workarounds: limit tcp_rmem/rmem_max on the peers so their wscale is small, or fix the middlebox (probe one with -H/-p for details)")
	}
	if unscaled > 0 {
		f := res.Add(plugin.Warning, fmt.Sprintf("%d of %d %s without window scaling (64 KiB window cap)", unscaled, total, what), perf...)
		perf = nil
		listDetails(f, listU, unscaled)
		f.Detailf("the option was lost both ways (a peer with scaling off, or a middlebox stripping it from SYN and SYN-ACK); check net.ipv4.tcp_window_scaling on both ends")
	}
	if perf != nil {
		res.Add(plugin.OK, fmt.Sprintf("%d %s, window scaling negotiated on all", total, what), perf...)
	}
	if noInfo > 0 {
		res.Detailf("%d connections came without tcp_info (closed while being read)", noInfo)
	}
	if verbose > 0 {
		res.Detailf("scanned ESTABLISHED sockets of this network namespace via sock_diag (min window %d B)", cfg.MinWindow)
	}
	return nil
}

// listDetails adds the listed connections and how many more there were.
func listDetails(f *plugin.Finding, listed []string, count int) {
	for _, l := range listed {
		f.Detailf("%s", l)
	}
	if count > len(listed) {
		f.Detailf("... and %d more", count-len(listed))
	}
}
