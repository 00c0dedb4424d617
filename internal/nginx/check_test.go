package nginx

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"net/netip"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/thresholds"
)

// options parses args (and a fresh --state-dir) as the binary does.
func options(t *testing.T, args ...string) *Options {
	return testenv.ParseOptions[Options](t, append([]string{"--state-dir", t.TempDir()}, args...)...)
}

// check gathers through f at now and judges, as Check does on the host.
func check(ctx context.Context, f linux.FS, now time.Time, o *Options) (*plugin.Result, error) {
	obs, err := Gather(ctx, f, o, now)
	if err != nil {
		return nil, err
	}
	return Judge(obs, o, 0)
}

// fakeProc is a proc root with the files the check reads when no process
// is given: its own namespace link, the sysctls and netstat.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T, somaxconn int) *fakeProc {
	p := &fakeProc{t: t, root: t.TempDir()}
	p.write("proc/sys/net/core/somaxconn", fmt.Sprint(somaxconn))
	p.write("proc/sys/net/ipv4/tcp_max_syn_backlog", "512")
	p.write("proc/sys/net/ipv4/tcp_syncookies", "1")
	p.netns("net:[4026531840]")
	p.netstat(0, 0)
	softnet, err := os.ReadFile(filepath.Join("..", "linux", "testdata", "softnet", "6.18-host.txt"))
	if err != nil {
		t.Fatal(err)
	}
	p.write("proc/net/softnet_stat", strings.TrimSpace(string(softnet)))
	p.write("proc/sys/net/core/netdev_max_backlog", "1000")
	p.write("proc/sys/net/core/netdev_budget", "300")
	return p
}

func (p *fakeProc) write(rel, content string) {
	path := filepath.Join(p.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakeProc) netns(id string) {
	link := filepath.Join(p.root, "proc/self/ns/net")
	_ = os.MkdirAll(filepath.Dir(link), 0o755)
	_ = os.Remove(link)
	if err := os.Symlink(id, link); err != nil {
		p.t.Fatal(err)
	}
}

func (p *fakeProc) netstat(overflows, drops int) {
	p.counters(map[string]int{"ListenOverflows": overflows, "ListenDrops": drops})
}

// counters writes /proc/net/netstat in the kernel's layout (the header
// lines of linux's testdata host-6.18.txt, read on this machine's
// kernel) with every counter 0 but those given.
func (p *fakeProc) counters(v map[string]int) {
	b, err := os.ReadFile(filepath.Join("..", "linux", "testdata", "netstat", "host-6.18.txt"))
	if err != nil {
		p.t.Fatal(err)
	}
	var out strings.Builder
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		f := strings.Fields(lines[i])
		out.WriteString(lines[i] + "\n" + f[0])
		for _, name := range f[1:] {
			fmt.Fprintf(&out, " %d", v[name])
		}
		out.WriteString("\n")
	}
	p.write("proc/net/netstat", out.String())
}

// TestCheckRates runs the check against a real loopback listener whose
// accept queue the test fills, with netstat counters from a fixture so the
// rates and their thresholds are exact.
func TestCheckRates(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", addr) // never accepted: waits in the queue
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	proc := newFakeProc(t, 4096)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := options(t, "--listen", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	type step struct {
		name            string
		advance         time.Duration
		overflows, drop int
		netns           string
		warnQueue       string
		state           plugin.State
		has             []string
	}
	for _, s := range []step{
		{name: "baseline", state: plugin.OK, has: []string{"accept queue 3/", "listen drops: collecting baseline", "not measured in this run, so left out of the perfdata: listen_drops_rate, listen_overflows_rate"}},
		{name: "no drops", advance: 10 * time.Second, state: plugin.OK, has: []string{"listen drops 0/s (overflows 0/s)", "listen_drops_rate=0;0;10;0"}},
		{name: "some drops warn", advance: 10 * time.Second, overflows: 20, drop: 25, state: plugin.Warning,
			has: []string{"WARNING - listen drops 2.5/s (overflows 2/s)", "ListenOverflows: an accept queue was full", "ListenDrops beyond overflows"}},
		{name: "many drops", advance: 2 * time.Second, overflows: 60, drop: 65, state: plugin.Critical, has: []string{"CRITICAL - listen drops 20/s (overflows 20/s)"}},
		{name: "counter reset", advance: 10 * time.Second, overflows: 1, drop: 1, state: plugin.OK, has: []string{"went backwards"}},
		// Each network namespace has its own counters and so its own
		// state: another one starts a baseline, and going back rates
		// against the first one's last sample (1 -> 101 in 30 s).
		{name: "another namespace", advance: 10 * time.Second, overflows: 500, drop: 500, netns: "net:[99]", state: plugin.OK, has: []string{"listen drops: collecting baseline"}},
		{name: "queue warns", advance: 10 * time.Second, overflows: 500, drop: 500, netns: "net:[99]", warnQueue: "0", state: plugin.Warning,
			has: []string{"WARNING - " + addr + " accept queue 3/", "workers are blocked", "listen drops 0/s"}},
		{name: "first namespace again", advance: 10 * time.Second, overflows: 101, drop: 101, netns: "net:[4026531840]", state: plugin.Warning,
			has: []string{"WARNING - listen drops 3.33/s (overflows 3.33/s)"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			proc.netstat(s.overflows, s.drop)
			if s.netns != "" {
				proc.netns(s.netns)
			}
			c := *cfg
			if s.warnQueue != "" {
				c.Warning = thresholds.MustParse(s.warnQueue)
			}
			res, err := check(ctx, linux.Under(proc.root), now, &c)
			if err != nil {
				t.Fatal(err)
			}
			out, st := plugin.Render("NGINX_QUEUE", res)
			if st != s.state {
				t.Errorf("state %v, want %v:\n%s", st, s.state, out)
			}
			for _, h := range s.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
		})
	}
}

func TestCheckClippedBacklog(t *testing.T) {
	// Go listens with the backlog net.core.somaxconn; the fixture's
	// somaxconn matches what the kernel really applied.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var backlog uint32
	sel := Selector{Listens: []netip.AddrPort{mustListen(t, l.Addr().String())}}
	socks, err := ListenSockets(context.Background(), 0, sel)
	if err != nil || len(socks) != 1 {
		t.Fatalf("sock_diag found %d sockets: %v", len(socks), err)
	}
	backlog = socks[0].WQueue
	proc := newFakeProc(t, int(backlog))
	cfg := options(t, "--port", fmt.Sprint(socks[0].Src.Port()), "--expect-backlog", fmt.Sprint(backlog*2))
	res, err := check(context.Background(), linux.Under(proc.root), time.Now(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, st := plugin.Render("NGINX_QUEUE", res)
	want := fmt.Sprintf("WARNING - %s backlog %d clipped by net.core.somaxconn %d (expected %d)", l.Addr(), backlog, backlog, backlog*2)
	if st != plugin.Warning || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("sysctl -w net.core.somaxconn=%d", backlog*2)) {
		t.Fatalf("want %q and the sysctl hint, got:\n%s", want, out)
	}

	// The same backlog below somaxconn: nginx's own listen backlog= is low.
	proc.write("proc/sys/net/core/somaxconn", fmt.Sprint(backlog*4))
	res, err = check(context.Background(), linux.Under(proc.root), time.Now(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = plugin.Render("NGINX_QUEUE", res)
	if !strings.Contains(out, fmt.Sprintf("backlog %d below the expected %d", backlog, backlog*2)) || !strings.Contains(out, "add backlog=") {
		t.Fatalf("no below-expected warning:\n%s", out)
	}
}

func mustListen(t *testing.T, s string) netip.AddrPort {
	a, err := ParseListen(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCheckNginxDropped rates stub_status's accepts - handled (nginx out
// of worker_connections) like the kernel drops: baseline, then WARNING on
// any drop and CRITICAL from 10/s. The page comes from a loopback server
// whose listener is also the one checked.
func TestCheckNginxDropped(t *testing.T) {
	var page atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, *page.Load())
	}))
	defer srv.Close()
	proc := newFakeProc(t, 4096)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := options(t, "--listen", srv.Listener.Addr().String(), "--status-url", srv.URL+"/nginx_status")
	for _, s := range []struct {
		advance          time.Duration
		accepts, handled int
		state            plugin.State
		has              string
	}{
		{0, 100, 100, plugin.OK, "nginx dropped connections: collecting baseline"},
		{10 * time.Second, 150, 130, plugin.Warning, "WARNING - nginx dropped 2/s connections (accepts - handled)"},
		{time.Second, 200, 160, plugin.Critical, "CRITICAL - nginx dropped 20/s connections (accepts - handled)"},
		{10 * time.Second, 210, 170, plugin.OK, "nginx dropped 0/s connections"},
	} {
		now = now.Add(s.advance)
		p := fmt.Sprintf("Active connections: 1 \nserver accepts handled requests\n %d %d %d \nReading: 0 Writing: 1 Waiting: 0 \n", s.accepts, s.handled, s.accepts*2)
		page.Store(&p)
		res, err := check(context.Background(), linux.Under(proc.root), now, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, st := plugin.Render("NGINX_QUEUE", res)
		if st != s.state || !strings.Contains(out, s.has) {
			t.Errorf("accepts %d handled %d: state %v, want %v and %q:\n%s", s.accepts, s.handled, st, s.state, s.has, out)
		}
		if st != plugin.OK && !strings.Contains(out, "worker_connections is exhausted") {
			t.Errorf("no worker_connections hint:\n%s", out)
		}
	}
}
