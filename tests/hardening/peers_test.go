package hardening

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// peer is a loopback TCP server that misbehaves in one way.
type peer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (p *peer) port() string { return strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port) }

// newPeer listens on loopback and hands each connection to serve; every
// connection is closed when the test ends.
func newPeer(t *testing.T, serve func(net.Conn)) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// silentPeer accepts and never answers.
func silentPeer(t *testing.T) *peer { return newPeer(t, func(net.Conn) {}) }

// closingPeer accepts and closes at once.
func closingPeer(t *testing.T) *peer { return newPeer(t, func(c net.Conn) { c.Close() }) }

// stallingStatus answers an HTTP request with the headers and half of a
// stub_status body, then stalls.
func stallingStatus(t *testing.T) *peer {
	return newPeer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 97\r\n\r\nActive connections: 1 \nserver accepts"))
	})
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string { return strconv.Itoa(testenv.FreePort(t)) }
