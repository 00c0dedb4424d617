package nginx

import (
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

// FetchFailure is why the stub_status page could not be read; which
// state each deserves is judge.go's.
type FetchFailure int

// The ways a status request fails.
const (
	FetchRefused   FetchFailure = iota + 1 // nothing listens there: nginx is down
	FetchNoAnswer                          // closed without a byte: nginx had no room (worker_connections)
	FetchTLSVerify                         // the certificate could not be verified
	FetchNetwork                           // another failure to connect, send or read
	FetchStatus                            // an HTTP status other than 200
	FetchNotStub                           // a 200 answer that is not a stub_status page
)

// FetchError is a failure to read the stub_status page. Msg never shows
// the credentials the URL or the request holds.
type FetchError struct {
	Kind FetchFailure
	Msg  string
	Code int // the HTTP status of FetchStatus
}

// StatusRequest is how the stub_status page is asked for.
type StatusRequest struct {
	URL      string
	Insecure bool // do not verify the server's certificate
	// Host replaces the URL's host in the Host header and, over https,
	// as the name sent (SNI) and verified: a status location on a
	// name-based virtual host reached by address.
	Host string
	// User and Password are sent with HTTP basic authentication; a user
	// and password in the URL are used when User is empty.
	User, Password string
}

func (e *FetchError) Error() string { return e.Msg }

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

// FetchStubStatus gets and parses the stub_status page within ctx's
// deadline. A failure is a *FetchError, except running out of time,
// which wraps context.DeadlineExceeded (the timeout state, like any
// other timeout).
func FetchStubStatus(ctx context.Context, req StatusRequest) (StubStatus, error) {
	u, err := parseStatusURL(req.URL)
	if err != nil {
		return StubStatus{}, err
	}
	shown := u.Redacted()
	code, status, body, err := httpGet(ctx, u, req)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return StubStatus{}, fmt.Errorf("fetching %s: %w", shown, context.DeadlineExceeded)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return StubStatus{}, &FetchError{Kind: FetchRefused, Msg: shown + " refused the connection"}
		}
		fe := &FetchError{Kind: FetchNetwork, Msg: fmt.Sprintf("cannot fetch %s: %s", shown, redactErr(err, u, req.Password))}
		var cv *tls.CertificateVerificationError
		switch {
		case errors.Is(err, errNoAnswer):
			fe.Kind = FetchNoAnswer
		case errors.As(err, &cv):
			fe.Kind = FetchTLSVerify
		}
		return StubStatus{}, fe
	}
	if code != 200 {
		return StubStatus{}, &FetchError{Kind: FetchStatus, Code: code, Msg: fmt.Sprintf("%s answered %s, expected 200 with the stub_status page", shown, status)}
	}
	s, err := ParseStubStatus(bytes.NewReader(body))
	if err != nil {
		return StubStatus{}, &FetchError{Kind: FetchNotStub, Msg: fmt.Sprintf("%s: %v", shown, err)}
	}
	return s, nil
}

// parseStatusURL accepts http and https URLs with a host; the error never
// shows a password the URL holds.
func parseStatusURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, plugin.OptionError("invalid --status-url %q: expected http://HOST[:PORT]/PATH or https://...", redact(raw))
	}
	return u, nil
}

// maxStubBody bounds what is read of a status page; the real one is about
// 110 bytes.
const maxStubBody = 64 * 1024

// httpGet fetches u with a bare HTTP/1.0 GET (Connection: close, body up
// to EOF) and returns the status code, the status text and the body. The
// status page is a few hundred bytes from a local server; net/http would
// double the binary and the start-up cost of every run, --status-url or
// not, for features this request never uses.
//
// Over https the handshake is crypto/tls's, in the check. Linking it costs
// every run of check_nginx_queue, https or not, about 0.16 ms (2.12 ->
// 2.28 ms, medians of 800 interleaved runs, check_dummy 0.79 ms;
// 200 thousand instructions, callgrind; 2026-12-06), 0.24 ms measured
// again later that day (2.17 -> 2.41 ms, 1,500 interleaved runs,
// check_dummy 0.65 ms: its package inits, and a binary twice the size
// mapped at start and unmapped at exit). From 598f886 to this change the
// handshake was made by a helper program installed next to the check,
// that got the connected socket as descriptor 3: a second binary, a
// protocol between the two, packaging, and a second process for every
// https run, to save that. It was removed because the check misses the 3x
// check_dummy budget with the helper as without it (bench/analysis.md:
// about 3.2x without crypto/tls; go-flags' 47 options and the readings
// issue 17 asks for are the rest), so the saving buys no target.
func httpGet(ctx context.Context, u *url.URL, r StatusRequest) (int, string, []byte, error) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host, name := u.Host, u.Hostname()
	if r.Host != "" {
		host, name = r.Host, r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			name = h
		}
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: check_nginx_queue\r\nConnection: close\r\n", u.RequestURI(), host)
	user, pw := r.User, r.Password
	if user == "" && u.User != nil {
		user = u.User.Username()
		pw, _ = u.User.Password()
	}
	if user != "" {
		fmt.Fprintf(&req, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	}
	req.WriteString("\r\n")

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
		tc := tls.Client(conn, &tls.Config{ServerName: name, InsecureSkipVerify: r.Insecure}) //nolint:gosec // asked for by --status-insecure
		if err := tc.HandshakeContext(ctx); err != nil {
			// A server that closes without a byte of handshake had no
			// room for the connection, as over http.
			if errors.Is(err, io.EOF) {
				err = errNoAnswer
			}
			return 0, "", nil, noAnswer(err)
		}
		conn = tc
	}
	raw, err := exchange(conn, req.String())
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

// exchange sends req on conn and reads the answer until the server
// closes; an answer of no byte is errNoAnswer.
func exchange(conn net.Conn, req string) ([]byte, error) {
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, noAnswer(err)
	}
	raw, err := io.ReadAll(io.LimitReader(conn, maxStubBody))
	if len(raw) == 0 {
		err = noAnswer(err)
		if err == nil {
			err = errNoAnswer
		}
	}
	return raw, err
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

// redactErr removes the passwords (the URL's, the request's) from an
// error text, should it quote one (plugin.Redact: whole quoted secrets
// only, so that a short password does not mangle the message).
func redactErr(err error, u *url.URL, password string) string {
	secrets := []string{password}
	if u.User != nil {
		p, _ := u.User.Password()
		secrets = append(secrets, p)
	}
	return plugin.Redact(err.Error(), secrets...)
}
