package tcpwindow

import (
	"fmt"
	"math"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Judge turns an observation into the check's findings: the local audit,
// then the probe or the scan when one ran. It reads nothing.
func Judge(obs *Observation, o *Options, verbose int) *plugin.Result {
	res := &plugin.Result{}
	judgeAudit(res, o, obs.Sysctls, obs.Probe != nil || obs.Scan != nil)
	switch {
	case obs.Probe != nil:
		judgeProbe(res, o, obs.Probe, obs.Sysctls.WindowScaling != 0)
	case obs.Scan != nil:
		judgeScan(res, o, obs.Scan, verbose)
	}
	return res
}

// judgeAudit adds the local findings. quiet keeps an OK audit out of the
// summary when a probe or the passive scan is the main subject.
func judgeAudit(res *plugin.Result, o *Options, s Sysctls, quiet bool) {
	w := AdvertisedWscale(s)
	rtt := o.RTT.D()
	maxW, limited := o.maxWscale()
	perf := plugin.Perf{Label: "advertised_wscale", Value: float64(w), Min: plugin.F(0), Max: plugin.F(MaxWscale)}
	if limited && maxW < MaxWscale {
		perf.Thresholds.Warn = &thresholds.Range{Start: 0, End: float64(maxW)}
	}
	if s.WindowScaling == 0 {
		ceiling := Ceiling(maxWindow, rtt)
		f := res.Add(plugin.Warning, fmt.Sprintf("window scaling disabled here (net.ipv4.tcp_window_scaling=0): every window is capped at 64 KiB, at most %s at %s RTT",
			FormatBits(ceiling), FormatDuration(rtt)), perf,
			plugin.Perf{Label: "local_ceiling_bps", Value: ceiling, Min: plugin.F(0)})
		f.Detailf("fix: sysctl -w net.ipv4.tcp_window_scaling=1 and keep it in /etc/sysctl.d/ (it is per network namespace)")
		f.Detailf("if it was turned off to work around a middlebox that mangles the option, limit the advertised wscale instead (--max-wscale shows the tcp_rmem values)")
		return
	}
	ceiling := Ceiling(float64(int64(maxWindow)<<w), rtt)
	pc := plugin.Perf{Label: "local_ceiling_bps", Value: ceiling, Min: plugin.F(0)}
	text := fmt.Sprintf("this host advertises wscale %d (tcp_rmem max %d B, rmem_max %d B)", w, s.Rmem[2], s.RmemMax)
	if limited && w > maxW {
		f := res.Add(plugin.Warning, fmt.Sprintf("%s, above --max-wscale %d", text, maxW), perf, pc)
		lim := largestSpaceFor(maxW)
		f.Detailf("current: net.ipv4.tcp_rmem = %d %d %d, net.core.rmem_max = %d, net.ipv4.tcp_wmem = %d %d %d",
			s.Rmem[0], s.Rmem[1], s.Rmem[2], s.RmemMax, s.Wmem[0], s.Wmem[1], s.Wmem[2])
		f.Detailf("to advertise wscale %d: both tcp_rmem max and rmem_max at most %d B, e.g. sysctl -w net.ipv4.tcp_rmem='%d %d %d' net.core.rmem_max=%d",
			maxW, lim, min(s.Rmem[0], lim), min(s.Rmem[1], lim), lim, min(s.RmemMax, lim))
		f.Detailf("tcp_wmem (now %d %d %d) only sizes our send buffer: it does not change the advertised wscale and can stay as it is",
			s.Wmem[0], s.Wmem[1], s.Wmem[2])
		f.Detailf("a smaller wscale lowers the throughput ceiling to about %s at %s RTT; the better fix is a middlebox that keeps the option", FormatBits(Ceiling(float64(int64(maxWindow)<<maxW), rtt)), FormatDuration(rtt))
		return
	}
	f := res.Add(plugin.OK, text, perf, pc)
	f.Quiet = quiet
	f.Detailf("window scaling on; windows up to %d B, at most %s at %s RTT", int64(maxWindow)<<w, FormatBits(ceiling), FormatDuration(rtt))
}

// judgeProbe turns a probe into findings.
func judgeProbe(res *plugin.Result, o *Options, p *ProbeResult, localScaling bool) {
	minWindow := uint32(o.MinWindow)
	ti := p.Info
	rtt := ti.RTT
	rttNote := ""
	if rtt <= 0 {
		rtt, rttNote = o.RTT.D(), " (no RTT measured: --rtt used)"
	}
	tiny := p.Seen && ti.HasSndWnd && ti.SndWnd < minWindow
	// The most the peer can open its window to, or the tiny one it shows.
	window := float64(maxWindow)
	switch {
	case tiny:
		window = float64(ti.SndWnd)
	case ti.WscaleOK():
		window = float64(int64(maxWindow) << ti.SndWscale)
	}
	ceiling := Ceiling(window, rtt)

	sndWnd, rcvWnd := float64(ti.SndWnd), float64(ti.RcvWnd)
	if !ti.HasSndWnd {
		sndWnd = math.NaN()
	}
	if !ti.HasRcvWnd {
		rcvWnd = math.NaN()
	}
	perf := []plugin.Perf{
		{Label: "rtt", Value: ti.RTT.Seconds(), UOM: "s", Min: plugin.F(0)},
		{Label: "snd_wscale", Value: float64(ti.SndWscale), Min: plugin.F(0), Max: plugin.F(MaxWscale)},
		{Label: "rcv_wscale", Value: float64(ti.RcvWscale), Min: plugin.F(0), Max: plugin.F(MaxWscale)},
		{Label: "snd_wnd", Value: sndWnd, UOM: "B", Min: plugin.F(0)},
		{Label: "rcv_wnd", Value: rcvWnd, UOM: "B", Min: plugin.F(0)},
		{Label: "ceiling_bps", Value: ceiling, Min: plugin.F(0)},
	}
	peerWnd := "unknown (kernel < 5.4 reports no tcpi_snd_wnd)"
	if ti.HasSndWnd {
		peerWnd = fmt.Sprintf("%d B", ti.SndWnd)
	}
	var f *plugin.Finding
	switch {
	case !ti.WscaleOK() && tiny:
		f = res.Add(plugin.Critical, fmt.Sprintf("window scale option mangled on the path to %s: scaling not negotiated on our side, yet the peer advertises only %d B (below --min-window %d B), at most %s at %s RTT",
			p.Remote, ti.SndWnd, o.MinWindow, FormatBits(ceiling), FormatDuration(rtt)), perf...)
		f.Detailf("likely cause: a router or firewall strips the window-scale option from the peer's SYN-ACK (or from our SYN on its way in, after the peer saw it): the peer scales its window and we take %d B literally", ti.SndWnd)
		f.Detailf("workaround 1: on the peer, limit the receive buffer so its wscale is small: net.ipv4.tcp_rmem max and net.core.rmem_max at most 65535 B give wscale 0 (check_tcp_window --local --max-wscale 0 on the peer shows the values)")
		f.Detailf("workaround 2 (the fix): make the middlebox keep TCP options intact (a TCPOPTSTRIP rule, a 'TCP option normalization' or 'window scale' setting, an old load balancer)")
	case !ti.WscaleOK():
		f = res.Add(plugin.Warning, fmt.Sprintf("window scaling not negotiated with %s: windows capped at 64 KiB, at most %s at %s RTT",
			p.Remote, FormatBits(ceiling), FormatDuration(rtt)), perf...)
		if !localScaling {
			f.Detailf("this host has net.ipv4.tcp_window_scaling=0, so its SYN carried no window-scale option")
		} else {
			f.Detailf("the option was lost both ways: the peer has scaling off, or a middlebox strips it from the SYN (and the SYN-ACK)")
		}
		if !p.Seen {
			f.Detailf("the peer sent nothing after the handshake, so a mangled scale cannot be told apart: add --send (and --expect) so the peer acknowledges data")
		}
		f.Detailf("fix: find the device that strips TCP options, or enable net.ipv4.tcp_window_scaling on both ends")
	case tiny:
		f = res.Add(plugin.Warning, fmt.Sprintf("window scaling negotiated with %s, but the peer advertises only %d B (below --min-window %d B), at most %s at %s RTT",
			p.Remote, ti.SndWnd, o.MinWindow, FormatBits(ceiling), FormatDuration(rtt)), perf...)
		f.Detailf("either the peer's receive buffer is tiny (SO_RCVBUF), or a middlebox rewrote the wscale value in its SYN-ACK to a smaller one")
	default:
		f = res.Add(plugin.OK, fmt.Sprintf("window scaling negotiated with %s (wscale peer %d, ours %d), peer window %s, RTT %s",
			p.Remote, ti.SndWscale, ti.RcvWscale, peerWnd, FormatDuration(ti.RTT)), perf...)
		if !p.Seen {
			f.Detailf("the peer sent nothing after the handshake: its window is the one of its SYN-ACK; add --send to see a scaled one")
		}
	}
	f.Detailf("tcp_info: snd_wscale %d, rcv_wscale %d, snd_wnd %s, rcv_wnd %s, rtt %s (var %s)%s, snd_mss %d, rcv_mss %d, advmss %d, %d bytes from the kernel",
		ti.SndWscale, ti.RcvWscale, peerWnd, optBytes(ti.RcvWnd, ti.HasRcvWnd), FormatDuration(ti.RTT), FormatDuration(ti.RTTVar), rttNote, ti.SndMSS, ti.RcvMSS, ti.AdvMSS, ti.Len)
	if p.Seen {
		f.Detailf("peer window read after %s; connected in %s", p.How, FormatDuration(p.Connect))
	}
	if !p.Expect {
		res.Add(plugin.Warning, fmt.Sprintf("%q not found in the answer of %s", o.Expect, p.Remote))
	}
	if o.MinThroughput > 0 && ceiling < float64(o.MinThroughput) {
		g := res.Add(plugin.Warning, fmt.Sprintf("throughput ceiling %s below --min-throughput %s", FormatBits(ceiling), FormatBits(float64(o.MinThroughput))))
		g.Detailf("window %.0f B per round trip of %s; a larger window (wscale, tcp_rmem on the peer) or a shorter path raises it", window, FormatDuration(rtt))
	}
}

func optBytes(v uint32, ok bool) string {
	if !ok {
		return "unknown (kernel < 6.2)"
	}
	return fmt.Sprintf("%d B", v)
}

// judgeScan turns the passive scan into findings.
func judgeScan(res *plugin.Result, o *Options, sc *Scan, verbose int) {
	total, mangled, unscaled := sc.Total, sc.Count[Mangled], sc.Count[Unscaled]
	perf := []plugin.Perf{
		{Label: "established", Value: float64(total), Min: plugin.F(0)},
		{Label: "mangled", Value: float64(mangled), Min: plugin.F(0)},
		{Label: "unscaled", Value: float64(unscaled), Min: plugin.F(0)},
	}
	what := "established connections"
	if o.Port != 0 || o.Remote.IsValid() {
		what = "matching established connections"
	}
	if mangled > 0 {
		f := res.Add(plugin.Critical, fmt.Sprintf("%d of %d %s show a mangled window scale (peer window below %d B without scaling)", mangled, total, what, o.MinWindow), perf...)
		perf = nil
		var listed []string
		for _, s := range sc.Examples[Mangled] {
			listed = append(listed, fmt.Sprintf("%s -> %s: peer window %d B, no window scaling on our side (peer scales, we read it unscaled)", s.Src, s.Dst, s.Info.SndWnd))
		}
		listDetails(f, listed, mangled)
		f.Detailf("likely cause: a middlebox strips the window-scale option from the peers' SYN-ACKs; workarounds: limit tcp_rmem/rmem_max on the peers so their wscale is small, or fix the middlebox (probe one with -H/-p for details)")
	}
	if unscaled > 0 {
		f := res.Add(plugin.Warning, fmt.Sprintf("%d of %d %s without window scaling (64 KiB window cap)", unscaled, total, what), perf...)
		perf = nil
		var listed []string
		for _, s := range sc.Examples[Unscaled] {
			listed = append(listed, fmt.Sprintf("%s -> %s: no window scaling, window capped at 64 KiB (peer window %s)", s.Src, s.Dst, optBytes(s.Info.SndWnd, s.Info.HasSndWnd)))
		}
		listDetails(f, listed, unscaled)
		f.Detailf("the option was lost both ways (a peer with scaling off, or a middlebox stripping it from SYN and SYN-ACK); check net.ipv4.tcp_window_scaling on both ends")
	}
	if perf != nil {
		res.Add(plugin.OK, fmt.Sprintf("%d %s, window scaling negotiated on all", total, what), perf...)
	}
	if sc.NoInfo > 0 {
		res.Detailf("%d connections came without tcp_info (closed while being read)", sc.NoInfo)
	}
	if verbose > 0 {
		res.Detailf("scanned ESTABLISHED sockets of this network namespace via sock_diag (min window %d B)", o.MinWindow)
	}
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
