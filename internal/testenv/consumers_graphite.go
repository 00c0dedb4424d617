package testenv

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// graphite is a Graphite plaintext line receiver on loopback.
type graphite struct {
	ln    net.Listener
	conns sync.WaitGroup
	mu    sync.Mutex
	lines []string
}

func startGraphite(t testing.TB) *graphite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &graphite{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.conns.Add(1)
			go func() {
				defer g.conns.Done()
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					g.mu.Lock()
					// Bounded: a writer gone wrong cannot eat the memory.
					if len(g.lines) < 1e6 {
						g.lines = append(g.lines, sc.Text())
					}
					g.mu.Unlock()
				}
			}()
		}
	}()
	return g
}

func (g *graphite) port() int { return g.ln.Addr().(*net.TCPAddr).Port }

// drain waits (at most 5 s) until the writers' connections have closed
// and every line they sent is read.
func (g *graphite) drain() {
	done := make(chan struct{})
	go func() { g.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// metrics are the last values received, by path below prefix.
func (g *graphite) metrics(prefix string) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for _, l := range g.lines {
		f := strings.Fields(l)
		if len(f) == 3 && strings.HasPrefix(f[0], prefix) {
			out[strings.TrimPrefix(f[0], prefix)] = f[1]
		}
	}
	return out
}

// graphitePrefix is where Icinga 2's GraphiteWriter puts a service's
// metrics by default (service_name_template, then ".perfdata.").
func graphitePrefix(service string) string {
	return "icinga2." + consumerHost + ".services." + service + ".replay.perfdata."
}
