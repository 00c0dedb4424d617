package tcpwindow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// ProbeResult is what one live connection showed.
type ProbeResult struct {
	Remote  string // address connected to
	Info    linux.TCPInfo
	Seen    bool   // a segment from the peer after the handshake (data, or the ACK of ours)
	How     string // what that segment was
	Expect  bool   // --expect was found (true when not asked)
	Got     []byte // what the peer sent (up to 4 KiB)
	Connect time.Duration
}

// Probe connects to the target within ctx's deadline, exchanges what the
// options ask for and reads TCP_INFO of its own socket.
func Probe(ctx context.Context, cfg Config) (*ProbeResult, error) {
	network := "tcp"
	switch {
	case cfg.IPv4:
		network = "tcp4"
	case cfg.IPv6:
		network = "tcp6"
	}
	// "[::1]" as people write it next to a port.
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	var d net.Dialer // name resolution happens inside DialContext, under ctx
	start := time.Now()
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, dialError(ctx, addr, err)
	}
	defer conn.Close()
	tc := conn.(*net.TCPConn)
	p := &ProbeResult{Remote: tc.RemoteAddr().String(), Connect: time.Since(start), Expect: cfg.Expect == ""}
	if dl, ok := ctx.Deadline(); ok {
		_ = tc.SetDeadline(dl)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("probe socket: %v", err)
	}
	if cfg.Send != "" {
		if _, err := tc.Write([]byte(cfg.Send)); err != nil {
			return nil, ioError(ctx, "sending to "+p.Remote, err)
		}
	}
	if err := exchange(ctx, tc, rc, cfg, p); err != nil {
		return nil, err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { p.Info, ierr = linux.SocketTCPInfo(fd) }); err != nil {
		return nil, fmt.Errorf("probe socket: %v", err)
	}
	if ierr != nil {
		return nil, fmt.Errorf("reading TCP_INFO of the probe connection: %v", ierr)
	}
	return p, nil
}

// exchange waits for the first segment the peer sends after the
// handshake: its window field is the first one scaled by the peer's shift
// (the SYN-ACK's never is), so only then does tcpi_snd_wnd show whether
// both sides agree on scaling. With --expect it reads until the string
// came.
func exchange(ctx context.Context, tc *net.TCPConn, rc syscall.RawConn, cfg Config, p *ProbeResult) error {
	var deadline time.Time
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl
	}
	waitUntil := deadline
	if cfg.Send == "" && cfg.Expect == "" {
		// Nothing to be acknowledged: give a peer that speaks first
		// (SMTP, SSH) a moment to do so.
		if w := time.Now().Add(bannerWait); deadline.IsZero() || w.Before(deadline) {
			waitUntil = w
		}
	}
	buf := make([]byte, 4096)
	step := 2 * time.Millisecond
	for {
		timedOut := ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline))
		switch {
		case timedOut && cfg.Expect != "":
			return fmt.Errorf("waiting for %q from %s: %w", cfg.Expect, p.Remote, context.DeadlineExceeded)
		case timedOut:
			return fmt.Errorf("waiting for %s to answer: %w", p.Remote, context.DeadlineExceeded)
		case !waitUntil.IsZero() && !time.Now().Before(waitUntil):
			return nil // nothing came within bannerWait: judged on the handshake alone
		}
		if cfg.Send != "" && !p.Seen && acked(rc) {
			p.Seen, p.How = true, "the ACK of our data"
			if cfg.Expect == "" {
				return nil
			}
		}
		rd := time.Now().Add(step)
		if !waitUntil.IsZero() && rd.After(waitUntil) {
			rd = waitUntil
		}
		_ = tc.SetReadDeadline(rd)
		n, err := tc.Read(buf)
		if n > 0 {
			if !p.Seen {
				p.Seen, p.How = true, "the peer's data"
			}
			if len(p.Got) < len(buf) {
				p.Got = append(p.Got, buf[:min(n, len(buf)-len(p.Got))]...)
			}
			if cfg.Expect == "" || bytes.Contains(p.Got, []byte(cfg.Expect)) {
				p.Expect = true
				return nil
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if errors.Is(err, io.EOF) {
				// The peer closed: its FIN carries a scaled window too.
				if !p.Seen {
					p.Seen, p.How = true, "the peer's FIN"
				}
				return nil
			}
			return ioError(ctx, "reading from "+p.Remote, err)
		}
		step = min(step*2, 50*time.Millisecond)
	}
}

// acked reports whether everything we sent has been acknowledged.
func acked(rc syscall.RawConn) bool {
	var n int
	var err error
	if cerr := rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); cerr != nil || err != nil {
		return false
	}
	return n == 0
}

func dialError(ctx context.Context, addr string, err error) error {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && ctx.Err() != nil:
		// -t ran out while resolving: a timeout, not a bad host name.
		return fmt.Errorf("resolving %s: %w", dns.Name, context.DeadlineExceeded)
	case errors.As(err, &dns):
		return fmt.Errorf("cannot resolve %s: %s; expected a resolvable host name or an IP address", dns.Name, dnsReason(dns))
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT):
		return fmt.Errorf("connecting to %s: %w", addr, context.DeadlineExceeded)
	case errors.Is(err, syscall.ECONNREFUSED):
		return plugin.Errorf(plugin.Critical, "connection to %s refused: nothing listens there (or a firewall rejects it)", addr)
	}
	return plugin.Errorf(plugin.Critical, "cannot connect to %s: %s", addr, errnoText(err))
}

func dnsReason(e *net.DNSError) string {
	switch {
	case e.IsNotFound:
		return "no such host"
	case e.IsTimeout:
		return "the resolver did not answer in time"
	}
	return "resolver error: " + e.Err
}

func ioError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
	}
	return plugin.Errorf(plugin.Critical, "%s: %s", what, errnoText(err))
}

// errnoText keeps the system's words but drops Go's "dial tcp ...:"
// prefixes, which repeat the address.
func errnoText(err error) string {
	var se syscall.Errno
	if errors.As(err, &se) {
		return se.Error()
	}
	return err.Error()
}

// judgeProbe turns a probe into findings.
func judgeProbe(res *plugin.Result, cfg Config, p *ProbeResult, localScaling bool) {
	ti := p.Info
	rtt := ti.RTT
	rttNote := ""
	if rtt <= 0 {
		rtt, rttNote = cfg.RTT, " (no RTT measured: --rtt used)"
	}
	tiny := p.Seen && ti.HasSndWnd && ti.SndWnd < uint32(cfg.MinWindow)
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
			p.Remote, ti.SndWnd, cfg.MinWindow, FormatBits(ceiling), FormatDuration(rtt)), perf...)
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
			p.Remote, ti.SndWnd, cfg.MinWindow, FormatBits(ceiling), FormatDuration(rtt)), perf...)
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
		res.Add(plugin.Warning, fmt.Sprintf("%q not found in the answer of %s", cfg.Expect, p.Remote))
	}
	if cfg.MinThroughput > 0 && ceiling < float64(cfg.MinThroughput) {
		g := res.Add(plugin.Warning, fmt.Sprintf("throughput ceiling %s below --min-throughput %s", FormatBits(ceiling), FormatBits(float64(cfg.MinThroughput))))
		g.Detailf("window %.0f B per round trip of %s; a larger window (wscale, tcp_rmem on the peer) or a shorter path raises it", window, FormatDuration(rtt))
	}
}

func optBytes(v uint32, ok bool) string {
	if !ok {
		return "unknown (kernel < 6.2)"
	}
	return fmt.Sprintf("%d B", v)
}
