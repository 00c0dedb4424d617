package nginx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/opschecks/opschecks/internal/plugin"
)

// StubStatus is the page of nginx's ngx_http_stub_status_module.
type StubStatus struct {
	Active                     int64
	Accepts, Handled, Requests int64
	Reading, Writing, Waiting  int64
}

// Dropped is the number of connections nginx accepted but closed at once
// because worker_connections was exhausted.
func (s StubStatus) Dropped() int64 { return s.Accepts - s.Handled }

// maxStubBody bounds what is read of a status page; the real one is about
// 110 bytes.
const maxStubBody = 64 * 1024

// ParseStubStatus parses a stub_status page:
//
//	Active connections: 291
//	server accepts handled requests
//	 16630948 16630948 31070465
//	Reading: 6 Writing: 179 Waiting: 106
func ParseStubStatus(r io.Reader) (StubStatus, error) {
	var s StubStatus
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(r, maxStubBody))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("reading stub_status: %v", err)
	}
	if len(lines) != 4 {
		return s, fmt.Errorf("not stub_status output: %d non-empty lines, expected 4 (Active connections, server accepts handled requests, three numbers, Reading/Writing/Waiting)", len(lines))
	}
	rest, ok := strings.CutPrefix(lines[0], "Active connections:")
	if !ok {
		return s, fmt.Errorf("not stub_status output: first line %q does not start with \"Active connections:\"", plugin.Clip(lines[0], 60))
	}
	var err error
	if s.Active, err = count("Active connections", strings.TrimSpace(rest)); err != nil {
		return s, err
	}
	if strings.Join(strings.Fields(lines[1]), " ") != "server accepts handled requests" {
		return s, fmt.Errorf("not stub_status output: second line %q is not \"server accepts handled requests\"", plugin.Clip(lines[1], 60))
	}
	f := strings.Fields(lines[2])
	if len(f) != 3 {
		return s, fmt.Errorf("not stub_status output: %d numbers for accepts, handled and requests, expected 3", len(f))
	}
	for i, dst := range []*int64{&s.Accepts, &s.Handled, &s.Requests} {
		if *dst, err = count([]string{"accepts", "handled", "requests"}[i], f[i]); err != nil {
			return s, err
		}
	}
	f = strings.Fields(lines[3])
	names := []string{"Reading:", "Writing:", "Waiting:"}
	if len(f) != 6 {
		return s, fmt.Errorf("not stub_status output: last line %q is not \"Reading: N Writing: N Waiting: N\"", plugin.Clip(lines[3], 60))
	}
	for i, dst := range []*int64{&s.Reading, &s.Writing, &s.Waiting} {
		if f[2*i] != names[i] {
			return s, fmt.Errorf("not stub_status output: found %q where %q was expected", plugin.Clip(f[2*i], 60), names[i])
		}
		if *dst, err = count(strings.TrimSuffix(names[i], ":"), f[2*i+1]); err != nil {
			return s, err
		}
	}
	if s.Handled > s.Accepts {
		return s, fmt.Errorf("not stub_status output: handled (%d) is greater than accepts (%d)", s.Handled, s.Accepts)
	}
	return s, nil
}

func count(name, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not stub_status output: %s %q is not a non-negative integer", name, plugin.Clip(v, 60))
	}
	return n, nil
}

// errNoAnswer is a connection the server closed without a byte of answer.
var errNoAnswer = errors.New("the server closed the connection without answering")

// noAnswer turns a reset or broken connection before any answer into
// errNoAnswer; other errors stay as they are.
func noAnswer(err error) error {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return errNoAnswer
	}
	return err
}

// StatusError is a failure to read stub_status, with the state it is
// reported with.
type StatusError struct {
	State plugin.State
	Msg   string
	Hint  string
}

func (e *StatusError) Error() string { return e.Msg }

// FetchStubStatus gets and parses the stub_status page at rawURL within
// ctx's deadline. A refused connection is CRITICAL (nginx is down), an
// answer that is not a stub_status page is UNKNOWN. Errors never show
// credentials that the URL may hold.
func FetchStubStatus(ctx context.Context, rawURL string, insecure bool) (StubStatus, error) {
	u, err := parseStatusURL(rawURL)
	if err != nil {
		return StubStatus{}, &StatusError{State: plugin.Unknown, Msg: err.Error()}
	}
	shown := u.Redacted()
	code, status, body, err := httpGet(ctx, u, insecure)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			// Silent or stalled: the timeout state, like any other timeout.
			return StubStatus{}, fmt.Errorf("fetching %s: %w", shown, context.DeadlineExceeded)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return StubStatus{}, &StatusError{State: plugin.Critical,
				Msg:  fmt.Sprintf("%s refused the connection", shown),
				Hint: "nginx is not running or does not listen there: check systemctl status nginx and the listen directive of the status server"}
		}
		se := &StatusError{State: plugin.Critical, Msg: fmt.Sprintf("cannot fetch %s: %s", shown, redactErr(err, u))}
		var cv *tls.CertificateVerificationError
		switch {
		case errors.Is(err, errNoAnswer):
			se.Hint = "nginx closes connections it has no room for when worker_connections are exhausted: look for \"worker_connections are not enough\" in its error log"
		case errors.As(err, &cv):
			se.Hint = "give the CA that signed nginx's certificate with SSL_CERT_FILE=/path/to/ca.pem in the check's environment, or skip verification with --status-insecure"
		}
		return StubStatus{}, se
	}
	if code != 200 {
		return StubStatus{}, &StatusError{State: plugin.Unknown,
			Msg:  fmt.Sprintf("%s answered %s, expected 200 with the stub_status page", shown, status),
			Hint: "point --status-url at a location with \"stub_status;\" that allows this host (allow 127.0.0.1;)"}
	}
	s, err := ParseStubStatus(bytes.NewReader(body))
	if err != nil {
		return StubStatus{}, &StatusError{State: plugin.Unknown, Msg: fmt.Sprintf("%s: %v", shown, err),
			Hint: "point --status-url at a location with \"stub_status;\""}
	}
	return s, nil
}

// parseStatusURL accepts http and https URLs with a host; the error never
// shows a password the URL holds.
func parseStatusURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --status-url %q: expected http://HOST[:PORT]/PATH or https://...", redact(raw))
	}
	return u, nil
}

// httpGet fetches u with a bare HTTP/1.0 GET (Connection: close, body up
// to EOF) and returns the status code, the status text and the body. The
// status page is a few hundred bytes from a local server; net/http would
// double the binary and the start-up cost of every run, --status-url or
// not, for features this request never uses.
func httpGet(ctx context.Context, u *url.URL, insecure bool) (int, string, []byte, error) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return 0, "", nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure}) //nolint:gosec // asked for by --status-insecure
		if err := tc.HandshakeContext(ctx); err != nil {
			return 0, "", nil, err
		}
		conn = tc
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: check_nginx_queue\r\nConnection: close\r\n", u.RequestURI(), u.Host)
	if u.User != nil {
		pw, _ := u.User.Password()
		fmt.Fprintf(&req, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)))
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return 0, "", nil, noAnswer(err)
	}
	raw, err := io.ReadAll(io.LimitReader(conn, maxStubBody))
	if len(raw) == 0 {
		err = noAnswer(err)
		if err == nil {
			err = errNoAnswer
		}
	}
	if err != nil {
		return 0, "", nil, err
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	proto, status, _ := strings.Cut(string(line), " ")
	code, cerr := strconv.Atoi(strings.SplitN(status, " ", 2)[0])
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || cerr != nil {
		return 0, "", nil, fmt.Errorf("the answer is not HTTP (%q)", plugin.Clip(string(line), 60))
	}
	return code, status, body, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		return "..." + raw[i:]
	}
	return raw
}

// redactErr removes the URL's password from an error text.
func redactErr(err error, u *url.URL) string {
	msg := err.Error()
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}
