package tcpwindow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// bannerWait is how long the probe waits for a peer that speaks first
// when there is nothing to send.
const bannerWait = time.Second

// Probe connects to the target within ctx's deadline, exchanges what the
// options ask for and reads TCP_INFO of its own socket.
func Probe(ctx context.Context, cfg *Options) (*ProbeResult, error) {
	network := "tcp"
	switch {
	case cfg.IPv4:
		network = "tcp4"
	case cfg.IPv6:
		network = "tcp6"
	}
	// "[::1]" as people write it next to a port.
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
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
func exchange(ctx context.Context, tc *net.TCPConn, rc syscall.RawConn, cfg *Options, p *ProbeResult) error {
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
		return fmt.Errorf("cannot resolve %s: %s (expected a resolvable host name or an IP address)", dns.Name, dnsReason(dns))
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
