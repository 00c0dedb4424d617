package tcpwindow

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// loopbackServer accepts connections on 127.0.0.1 and hands each to
// serve.
func loopbackServer(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestProbeExchange covers the ways the probe learns the peer's scaled
// window, against real loopback servers.
func TestProbeExchange(t *testing.T) {
	banner := loopbackServer(t, func(c net.Conn) { c.Write([]byte("220 ready\r\n")); time.Sleep(3 * time.Second) })
	closer := loopbackServer(t, func(c net.Conn) { c.Write([]byte("bye\n")) })
	sink := loopbackServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	for _, tc := range []struct {
		name         string
		port         int
		send, expect string
		seen         bool
		how          string
		found        bool
		minWait      time.Duration
	}{
		{name: "banner", port: banner, seen: true, how: "the peer's data", found: true},
		{name: "banner expected", port: banner, expect: "220 ", seen: true, how: "the peer's data", found: true},
		{name: "closed without the expected string", port: closer, expect: "220 ", seen: true, how: "the peer's data", found: false},
		{name: "silent peer acknowledges our data", port: sink, send: "hello\n", seen: true, how: "the ACK of our data", found: true},
		{name: "silent peer, nothing sent", port: sink, seen: false, found: true, minWait: bannerWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := options(t, "-H", "127.0.0.1", "-p", strconv.Itoa(tc.port))
			cfg.Send, cfg.Expect = tc.send, tc.expect
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			p, err := Probe(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.Seen != tc.seen || p.How != tc.how || p.Expect != tc.found {
				t.Errorf("seen %v how %q expect %v, want %v %q %v", p.Seen, p.How, p.Expect, tc.seen, tc.how, tc.found)
			}
			if el := time.Since(start); el < tc.minWait || el > 4*time.Second {
				t.Errorf("took %s", el)
			}
			if !p.Info.WscaleOK() || p.Remote != "127.0.0.1:"+strconv.Itoa(tc.port) || p.Info.Len == 0 {
				t.Errorf("loopback probe: %+v", p)
			}
		})
	}
}

func TestProbeErrors(t *testing.T) {
	// A port nothing listens on: bind one, close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := options(t, "-H", "127.0.0.1", "-p", strconv.Itoa(free))
	_, err = Probe(context.Background(), cfg)
	if err == nil || plugin.StateOf(err) != plugin.Critical || !strings.Contains(err.Error(), "refused") {
		t.Errorf("closed port: %v (state %s)", err, plugin.StateOf(err))
	}

	// The expected string never comes: a deadline error, reported with
	// the timeout state by the runtime.
	silent := loopbackServer(t, func(c net.Conn) { time.Sleep(3 * time.Second) })
	cfg.Port, cfg.Expect = plugin.Port(silent), "never"
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = Probe(ctx, cfg)
	// Under load the deadline may already pass during the handshake; what
	// matters is a deadline error that says what it waited for.
	if err == nil || !strings.Contains(err.Error(), "waiting for") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expect timeout: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s past a 1s deadline", el)
	}
}
