package main

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestConsumers shows check_nginx_queue's outputs in every state, with
// IPv4 and IPv6 listeners (specific and wildcard addresses), stub_status
// counters and drop rates, to the real Icinga 2, Graphite writer and
// Nagios 4 (testenv.AssertConsumers).
func TestConsumers(t *testing.T) {
	testenv.Require(t, "netns", "nginx", "icinga2", "nagios4")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxcons")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Backlog: 8,
		Server: "listen [::1]:8080 backlog=4; listen [::]:8081 backlog=16; listen 8082 backlog=16;"})
	state := t.TempDir()
	ports := []string{"--port", "8080", "--port", "8081", "--port", "8082"}
	run := func(args ...string) testenv.Run {
		r := testenv.RunCmd(t, ns.Command(bin, append([]string{"--state-dir", state}, args...)...))
		testenv.AssertContract(t, "NGINX_QUEUE", r)
		return r
	}
	var samples testenv.Samples
	status := append([]string{"--status-url", ng.StatusURL()}, ports...)
	samples.Add(t, "ok_baseline", 0, run(status...))
	time.Sleep(1100 * time.Millisecond)
	samples.Add(t, "ok_rates", 0, run(status...))
	samples.Add(t, "warning_backlog", 1, run(append(ports, "--expect-backlog", "64")...))

	// A full accept queue on 127.0.0.1:8080: the worker stopped, 9
	// handshakes completed and waiting (backlog 8 + 1), more SYNs dropped.
	ng.Signal(t, syscall.SIGSTOP)
	defer ng.Signal(t, syscall.SIGCONT)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err := ns.Do(func() error {
		for i := range 12 {
			d := net.Dialer{Timeout: 5 * time.Second}
			if i >= 9 {
				d.Timeout = 200 * time.Millisecond
			}
			if c, err := d.Dial("tcp", ng.Addr); err == nil {
				conns = append(conns, c)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	samples.Add(t, "critical_queue", 2, run(ports...))
	samples.Add(t, "unknown", 3, run("--port", "0"))
	samples.Add(t, "critical_not_listening", 2, run("--listen", "[::1]:9"))
	t.Logf("listeners: %s", strconv.Quote(samples[0].Run.FirstLine()))
	testenv.AssertConsumers(t, samples...)
}
