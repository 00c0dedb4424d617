package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
)

// TestStubStatusHTTPS reads stub_status from a real nginx over https with
// a certificate of a test CA: trusted through SSL_CERT_FILE (the check
// uses the system roots, which Go reads from there) or not verified with
// --status-insecure it is OK; a certificate the check cannot verify is
// CRITICAL with one line naming the certificate problem.
func TestStubStatusHTTPS(t *testing.T) {
	testenv.Require(t, "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	dir := t.TempDir()
	good := testenv.WriteTLSFiles(t, dir, "good")
	other := testenv.WriteTLSFiles(t, dir, "other")
	tlsPort := testenv.FreePort(t)
	ng := testenv.StartNginx(t, testenv.NginxOptions{HTTP: fmt.Sprintf(`    server {
        listen 127.0.0.1:%d ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location = /nginx_status { stub_status; }
    }
`, tlsPort, good.Cert, good.Key)})
	url := fmt.Sprintf("https://127.0.0.1:%d/nginx_status", tlsPort)
	// A state directory per run: every run is a baseline, so listen drops
	// of other tests in the host's namespace cannot change the state.
	run := func(env []string, extra ...string) testenv.Run {
		args := append([]string{"--port", strconv.Itoa(ng.Port), "--state-dir", t.TempDir(), "--status-url", url}, extra...)
		return testenv.RunCheck(t, bin, env, args...)
	}

	trusted := []string{"SSL_CERT_FILE=" + good.CA, "SSL_CERT_DIR=" + dir + "/none"}
	r := run(trusted)
	expect(t, r, 0, "NGINX_QUEUE OK - "+ng.Addr+" accept queue 0/8 (0%)",
		"nginx 1 active connections (reading 0, writing 1, waiting 0)")
	testenv.AssertUnmeasured(t, r, "nginx_dropped_rate")
	accepts := testenv.PerfValue(t, r, "accepts")
	for label, want := range map[string]float64{"active": 1, "reading": 0, "writing": 1, "waiting": 0, "handled": accepts, "requests": accepts} {
		if v := testenv.PerfValue(t, r, label); v != want {
			t.Errorf("perfdata %s = %v, want %v:\n%s", label, v, want, r.Stdout)
		}
	}
	if accepts < 1 {
		t.Fatalf("accepts %v, want >= 1 (this run's own request)", accepts)
	}
	if !strings.Contains(r.FirstLine(), "accepts="+strconv.FormatFloat(accepts, 'f', -1, 64)+"c;") {
		t.Errorf("accepts is not a counter (c):\n%s", r.FirstLine())
	}

	r = run(trusted)
	expect(t, r, 0, "nginx 1 active connections")
	if a := testenv.PerfValue(t, r, "accepts"); a != accepts+1 {
		t.Errorf("accepts %v after %v, want one more", a, accepts)
	}

	// Not verified: OK as well.
	r = run(nil, "--status-insecure")
	expect(t, r, 0, "nginx 1 active connections (reading 0, writing 1, waiting 0)")
	testenv.PerfValue(t, r, "requests")

	// The system roots (no test CA) and a CA that did not sign the
	// certificate: CRITICAL, one line, the x509 reason.
	unknown := regexp.MustCompile(`^NGINX_QUEUE CRITICAL - stub_status: cannot fetch ` + regexp.QuoteMeta(url) +
		`: tls: failed to verify certificate: x509: certificate signed by unknown authority( - | \|)`)
	for name, env := range map[string][]string{
		"system roots": {"SSL_CERT_DIR=" + dir + "/none"},
		"other CA":     {"SSL_CERT_FILE=" + other.CA, "SSL_CERT_DIR=" + dir + "/none"},
	} {
		r = run(env)
		expect(t, r, 2)
		if !unknown.MatchString(r.FirstLine()) {
			t.Errorf("%s: want %s, got:\n%s", name, unknown, r.Stdout)
		}
		if !strings.Contains(r.Stdout, "SSL_CERT_FILE=") || !strings.Contains(r.Stdout, "--status-insecure") {
			t.Errorf("%s: no hint on how to trust the certificate:\n%s", name, r.Stdout)
		}
		if strings.Contains(r.Stdout, "'accepts'") {
			t.Errorf("%s: stub_status perfdata without a verified page:\n%s", name, r.Stdout)
		}
	}

	// Plain http to the TLS port: nginx answers 400, UNKNOWN.
	plain := strings.Replace(url, "https:", "http:", 1)
	r = run(nil, "--status-url", plain)
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: "+plain+" answered 400 Bad Request, expected 200 with the stub_status page")
}

// TestNginxDroppedConnections exhausts worker_connections of a real nginx
// (one worker) with connections that sent half a request: nginx accepts
// further connections and closes them at once ("worker_connections are
// not enough"), so stub_status shows accepts > handled, and the check
// rates accepts-handled like the kernel's drops.
func TestNginxDroppedConnections(t *testing.T) {
	testenv.Require(t, "netns", "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	ns := testenv.NewNetns(t, "nginxw")
	const workerConns = 16
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, WorkerConnections: workerConns})
	stateDir := t.TempDir()
	run := func(extra ...string) testenv.Run {
		args := append([]string{"netns", "exec", ns.Name, bin, "--state-dir", stateDir,
			"--port", strconv.Itoa(ng.Port), "--status-url", ng.StatusURL()}, extra...)
		return testenv.RunCheck(t, "ip", nil, args...)
	}

	r := run()
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx dropped connections: collecting baseline")
	testenv.AssertUnmeasured(t, r, "nginx_dropped_rate")
	base := testenv.PerfValue(t, r, "accepts") - testenv.PerfValue(t, r, "handled")
	if base != 0 {
		t.Fatalf("accepts-handled %v on a fresh nginx", base)
	}

	// Idle connections are reusable: nginx closes them to make room. A
	// connection that sent part of its request header is not, and holds
	// its worker_connections slot for client_header_timeout (60s).
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	dropped := 0
	err := ns.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second}
		for i := 0; i < 2*workerConns && dropped < 5; i++ {
			c, err := d.Dial("tcp", ng.Addr)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: x\r\n"); err != nil {
				c.Close()
				dropped++
				continue
			}
			// nginx closes a connection it has no slot for right after
			// accept(); give it a moment to do so.
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				c.Close()
				dropped++
				continue
			}
			_ = c.SetReadDeadline(time.Time{})
			held = append(held, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(ng.ErrorLog)
	t.Logf("%d connections held, %d closed by nginx", len(held), dropped)
	if dropped == 0 {
		t.Fatalf("nginx closed none of %d half-request connections with worker_connections %d\n%s", len(held), workerConns, log)
	}
	if want := fmt.Sprintf("%d worker_connections are not enough", workerConns); !strings.Contains(string(log), want) {
		t.Errorf("error log lacks %q:\n%s", want, log)
	}

	// While every slot is taken the status request itself is dropped:
	// nginx closes it unanswered (the client sees EOF or a reset).
	r = run()
	t.Logf("all slots taken: %s", r.FirstLine())
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - stub_status: cannot fetch "+ng.StatusURL()+": the server closed the connection without answering")
	if !strings.Contains(r.Stdout, `look for "worker_connections are not enough" in its error log`) {
		t.Errorf("no worker_connections hint:\n%s", r.Stdout)
	}
	dropped++

	// Free the slots: the check reads stub_status again and rates the
	// connections nginx dropped since the baseline.
	for _, c := range held {
		c.Close()
	}
	held = nil
	time.Sleep(100 * time.Millisecond)
	r = run()
	accepts, handled := testenv.PerfValue(t, r, "accepts"), testenv.PerfValue(t, r, "handled")
	drops := accepts - handled
	t.Logf("stub_status accepts %v handled %v: %s", accepts, handled, r.FirstLine())
	if drops < float64(dropped) {
		t.Errorf("accepts-handled %v, want >= %d connections nginx closed (the test's and the check's)", drops, dropped)
	}
	rate := testenv.PerfValue(t, r, "nginx_dropped_rate")
	if rate <= 0 {
		t.Fatalf("nginx_dropped_rate %v, want > 0:\n%s", rate, r.Stdout)
	}
	want, code := "WARNING", 1 // defaults: any drop warns, 10/s is critical
	if rate > 10 {
		want, code = "CRITICAL", 2
	}
	expect(t, r, code, "NGINX_QUEUE "+want+" - nginx dropped ")
	if !strings.Contains(r.FirstLine(), "/s connections (accepts - handled)") || !strings.Contains(r.Stdout, "raise worker_connections") {
		t.Errorf("no drop line or hint:\n%s", r.Stdout)
	}
	if !strings.Contains(r.FirstLine(), "nginx_dropped_rate="+strconv.FormatFloat(rate, 'f', -1, 64)+";0;10;0") {
		t.Errorf("nginx_dropped_rate lacks the thresholds 0 and 10:\n%s", r.FirstLine())
	}
	if d := testenv.PerfValue(t, r, "listen_drops_rate"); d != 0 {
		t.Errorf("kernel listen_drops_rate %v: the connections were accepted, not dropped by the kernel", d)
	}
}

// TestStubStatusOtherNamespace: nginx runs in a network namespace of
// its own (a container) and the check, on the host, is told its pid file
// and a loopback status URL. The URL is fetched from the host, where that
// port refuses (a socket bound, not listening, holds it): the URL is
// wrong, UNKNOWN with how to reach nginx's namespace, not CRITICAL
// "nginx is not running" about an nginx whose listeners were just read.
func TestStubStatusOtherNamespace(t *testing.T) {
	testenv.Require(t, "netns", "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	// A TCP socket bound to a port the kernel picks, never listening: the
	// port refuses connections here, and nginx listens on it in its own
	// namespace.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	ns := testenv.NewNetns(t, "nginxo")
	ng := testenv.StartNginx(t, testenv.NginxOptions{Netns: ns, Port: port})
	r := testenv.RunCheck(t, bin, nil, "--pidfile", ng.PidFile, "--state-dir", t.TempDir(), "--status-url", ng.StatusURL())
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: "+ng.StatusURL()+" refused the connection")
	if !strings.Contains(r.Stdout, "the check fetches --status-url from its own network namespace, and nginx runs in another (net:[") {
		t.Errorf("no hint about the namespaces:\n%s", r.Stdout)
	}
	// Inside nginx's namespace the same command line reads the page.
	r = testenv.RunCmd(t, ns.Command(bin, "--pidfile", ng.PidFile, "--state-dir", t.TempDir(), "--status-url", ng.StatusURL()))
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 1 active connections")
}

// TestStubStatusForks serves the recorded status pages of nginx's forks
// (internal/nginx/testdata/stub_status, sources in its SOURCES.md) from a
// loopback HTTP server: Tengine's request_time column is read by its
// name and becomes perfdata; a cut page is still not stub_status output.
func TestStubStatusForks(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	dir := filepath.Join("..", "..", "internal", "nginx", "testdata", "stub_status")
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	run := func(page string) testenv.Run {
		return testenv.RunCheck(t, bin, nil, "--listen", srv.Listener.Addr().String(), "--state-dir", t.TempDir(),
			"--status-url", srv.URL+"/"+page)
	}
	r := run("tengine.txt")
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 3 active connections (reading 0, writing 1, waiting 2)", "stub_request_time=98321c;;;0")
	for label, want := range map[string]float64{"accepts": 1127, "handled": 1127, "requests": 4056, "stub_request_time": 98321} {
		if v := testenv.PerfValue(t, r, label); v != want {
			t.Errorf("%s = %v, want %v", label, v, want)
		}
	}
	for _, page := range []string{"angie.txt", "freenginx.txt"} {
		expect(t, run(page), 0, "NGINX_QUEUE OK", "nginx 2 active connections (reading 0, writing 1, waiting 1)")
	}
	r = run("tengine_truncated.txt")
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: "+srv.URL+"/tengine_truncated.txt: not stub_status output: no \"Reading: N Writing: N Waiting: N\" line")
}

// TestStubStatusAuthAndHost: a real nginx whose status location is on a
// name-based virtual host behind basic authentication (auth_basic with a
// {PLAIN} password, which nginx's ngx_crypt reads). Reached by address it
// is the default server's 404 until --status-host names the virtual
// host, then 401 until the credentials come from --status-password-file
// (or the URL). No password ever reaches the output. Over https the
// name is also the one sent and verified.
func TestStubStatusAuthAndHost(t *testing.T) {
	testenv.Require(t, "nginx")
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	dir := t.TempDir()
	const password = "s3cret-Pw"
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("op:{PLAIN}"+password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "status.pass")
	if err := os.WriteFile(passFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong.pass")
	if err := os.WriteFile(wrongFile, []byte("not-it\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsFiles := testenv.WriteTLSFiles(t, dir, "vhost")
	port, tlsPort := testenv.FreePort(t), testenv.FreePort(t)
	vhost := fmt.Sprintf(`    server {
        listen 127.0.0.1:%[1]d;
        listen 127.0.0.1:%[2]d ssl;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        server_name status.example localhost;
        location = /vhost_status {
            auth_basic "status";
            auth_basic_user_file %[5]s;
            stub_status;
        }
    }
    server {
        listen 127.0.0.1:%[1]d default_server;
        listen 127.0.0.1:%[2]d ssl default_server;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        location / { return 404; }
    }
`, port, tlsPort, tlsFiles.Cert, tlsFiles.Key, htpasswd)
	ng := testenv.StartNginx(t, testenv.NginxOptions{HTTP: vhost})
	statusURL := fmt.Sprintf("http://127.0.0.1:%d/vhost_status", port)
	run := func(env []string, extra ...string) testenv.Run {
		r := testenv.RunCheck(t, bin, env, append([]string{"--port", strconv.Itoa(ng.Port), "--state-dir", t.TempDir(), "-v"}, extra...)...)
		if strings.Contains(r.Stdout+r.Stderr, password) {
			t.Fatalf("the password is in the output:\n%s", r.Stdout)
		}
		return r
	}

	r := run(nil, "--status-url", statusURL)
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: "+statusURL+" answered 404 Not Found")
	if !strings.Contains(r.Stdout, "give its name with --status-host") {
		t.Errorf("no --status-host hint:\n%s", r.Stdout)
	}
	r = run(nil, "--status-url", statusURL, "--status-host", "status.example")
	expect(t, r, 3, "NGINX_QUEUE UNKNOWN - stub_status: "+statusURL+" answered 401 Unauthorized")
	if !strings.Contains(r.Stdout, "give --status-user and --status-password-file") {
		t.Errorf("no credentials hint:\n%s", r.Stdout)
	}
	r = run(nil, "--status-url", statusURL, "--status-host", "status.example", "--status-user", "op", "--status-password-file", wrongFile)
	expect(t, r, 3, "answered 401 Unauthorized")
	r = run(nil, "--status-url", statusURL, "--status-host", "status.example", "--status-user", "op", "--status-password-file", passFile)
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 1 active connections")
	if a := testenv.PerfValue(t, r, "accepts"); a < 4 {
		t.Errorf("accepts %v after four requests", a)
	}
	// The credentials in the URL work too, and are never shown.
	withPass := fmt.Sprintf("http://op:%s@127.0.0.1:%d/vhost_status", password, port)
	r = run(nil, "--status-url", withPass, "--status-host", "status.example:"+strconv.Itoa(port))
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 1 active connections")

	// https: the name is sent (SNI) and verified; the certificate holds
	// localhost, not status.example.
	tlsURL := fmt.Sprintf("https://127.0.0.1:%d/vhost_status", tlsPort)
	trusted := []string{"SSL_CERT_FILE=" + tlsFiles.CA, "SSL_CERT_DIR=" + dir + "/none"}
	r = run(trusted, "--status-url", tlsURL, "--status-host", "localhost", "--status-user", "op", "--status-password-file", passFile)
	expect(t, r, 0, "NGINX_QUEUE OK", "nginx 1 active connections")
	r = run(trusted, "--status-url", tlsURL, "--status-host", "status.example", "--status-user", "op", "--status-password-file", passFile)
	expect(t, r, 2, "NGINX_QUEUE CRITICAL - stub_status: cannot fetch "+tlsURL+": tls: failed to verify certificate: x509: certificate is valid for localhost, not status.example")
}

// TestStubStatusManyColumns: a page with thousands of further columns (a
// fork's or a broken status location's) gives at most 16 stub_ metrics,
// in page order; the columns left out are named in the long output.
func TestStubStatusManyColumns(t *testing.T) {
	bin := testenv.BuildCheck(t, "check_nginx_queue")
	var names, values []string
	for i := range 3000 {
		names, values = append(names, fmt.Sprintf("c%d", i)), append(values, strconv.Itoa(i))
	}
	page := "Active connections: 3\nserver accepts handled requests " + strings.Join(names, " ") + "\n 10 10 20 " + strings.Join(values, " ") +
		"\nReading: 0 Writing: 1 Waiting: 2 Queued: 5\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, page) }))
	defer srv.Close()
	r := testenv.RunCheck(t, bin, nil, "--listen", srv.Listener.Addr().String(), "--state-dir", t.TempDir(), "--status-url", srv.URL+"/nginx_status")
	testenv.AssertContract(t, "NGINX_QUEUE", r)
	_, perf, _ := strings.Cut(r.FirstLine(), " | ")
	if n := strings.Count(" "+perf, " stub_"); n != 16 || !strings.Contains(perf, " stub_c15=15c;;;0 ") || strings.Contains(perf, "stub_c16=") {
		t.Errorf("%d stub_ metrics, want stub_c0..stub_c15:\n%s", n, r.FirstLine())
	}
	if !strings.Contains(r.Stdout, "\n  2985 further stub_status columns left out of the perfdata (at most 16 become perfdata): c16 c17 c18 ") {
		t.Errorf("the columns left out are not named:\n%s", r.Stdout)
	}
}
