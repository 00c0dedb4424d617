package mongodb

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/event"

	"github.com/opschecks/opschecks/internal/plugin"
)

// What the check was waiting for when -t ran out, and what answered when
// the answer was no MongoDB: the driver says neither ("context deadline
// exceeded", "length of read message too large"). The session watches
// its own traffic for it: the commands sent and not answered yet
// (command monitoring), and the first bytes each connection received
// (sniffConn, through the driver's Dialer option).

// pendingCmd is a command sent and not answered.
type pendingCmd struct {
	what, addr string
	started    time.Time
}

func (s *Session) commandStarted(_ context.Context, e *event.CommandStartedEvent) {
	what := e.CommandName
	if coll, ok := e.Command.Lookup(e.CommandName).StringValueOK(); ok && coll != "" {
		// find, aggregate, count...: the collection they read.
		what += " on " + e.DatabaseName + "." + coll
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[int64]pendingCmd{}
	}
	s.pending[e.RequestID] = pendingCmd{what: what, addr: connAddr(e.ConnectionID), started: time.Now()}
}

func (s *Session) commandSucceeded(_ context.Context, e *event.CommandSucceededEvent) {
	s.commandEnded(e.RequestID, false)
}

func (s *Session) commandFailed(_ context.Context, e *event.CommandFailedEvent) {
	s.commandEnded(e.RequestID, true)
}

// commandEnded forgets an answered command; one that failed after the
// check's deadline is what the check waited for when -t ran out.
func (s *Session) commandEnded(id int64, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.pending[id]
	delete(s.pending, id)
	// The driver ends a command's read at the context's deadline (its
	// socket deadline), give or take the scheduler.
	if ok && failed && !s.deadline.IsZero() && !time.Now().Before(s.deadline.Add(-50*time.Millisecond)) {
		s.unanswered = &c
	}
}

// waitedFor says what the check waited for when its time ran out:
// the oldest command still unanswered, else the handshake when no server
// has answered one, else nothing known ("").
func (s *Session) waitedFor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest *pendingCmd
	for _, c := range s.pending {
		if oldest == nil || c.started.Before(oldest.started) {
			oldest = &c
		}
	}
	if oldest == nil {
		oldest = s.unanswered
	}
	switch {
	case oldest != nil:
		hint := ": the server is overloaded or stuck, look at its log and at db.currentOp()"
		if s.mongos {
			hint = ", which a mongos answers from its config servers and shards: check that the config server replica set and each shard have a primary (--mode replset-state against them)"
		}
		return fmt.Sprintf("waiting for %s to answer %s%s", oldest.addr, oldest.what, hint)
	case !s.healthy && !s.dialed:
		return fmt.Sprintf("waiting for %s to accept a TCP connection: nothing answered the connection request (a host that is down, a firewall that drops packets, or a listener whose accept queue is full)", s.Target)
	case !s.healthy:
		return fmt.Sprintf("waiting for %s to answer the MongoDB handshake (hello): %s, check that -H/-P or --uri name the port of a mongod or mongos (another service, such as an HTTP server, waits for a request it understands)", s.Target, s.silence())
	}
	return ""
}

// silence says what the servers that took the connection sent: nothing,
// or the start of what they sent. The caller holds s.mu.
func (s *Session) silence() string {
	if len(s.answers) == 0 {
		return "the connection was accepted and nothing came back"
	}
	var said []string
	for addr, b := range s.answers {
		if tlsRecord(b) {
			said = append(said, addr+" completed the TLS handshake and sent nothing inside it")
		} else {
			said = append(said, addr+" sent only "+quoteBytes(b))
		}
	}
	sort.Strings(said)
	return strings.Join(said, ", ")
}

// timeoutError is -t running out while the check waited for what its
// text says; it is a context.DeadlineExceeded for the runtime, which
// prints "timed out after T while <text>".
type timeoutError struct{ text string }

func (e *timeoutError) Error() string { return e.text }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// timeout turns a timeout into a timeoutError that names what the check
// waited for; when that is not known, err's own text without the
// driver's "context deadline exceeded".
func (s *Session) timeout(err error) error {
	if what := s.waitedFor(); what != "" {
		return &timeoutError{text: what}
	}
	return &timeoutError{text: strings.ReplaceAll(err.Error(), context.DeadlineExceeded.Error(), "no answer")}
}

// sniffDialer dials as the driver's default (a zero net.Dialer) and
// keeps the first bytes each connection receives.
type sniffDialer struct {
	net.Dialer
	s *Session
}

func (d *sniffDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.s.mu.Lock()
	d.s.dialed = true
	d.s.mu.Unlock()
	return &sniffConn{Conn: c, s: d.s, addr: addr}, nil
}

// sniffConn is a connection whose first read takes what has arrived (up
// to 256 bytes, where the driver asks for the 4 bytes of a message
// length) and keeps it for the diagnosis; later reads are served from it
// first.
type sniffConn struct {
	net.Conn
	s    *Session
	addr string
	buf  []byte
	read bool
}

func (c *sniffConn) Read(p []byte) (int, error) {
	if !c.read {
		c.read = true
		b := make([]byte, 256)
		n, err := c.Conn.Read(b)
		c.buf = b[:n]
		if n > 0 {
			c.s.answered(c.addr, c.buf)
		}
		if n == 0 {
			return 0, err
		}
	}
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// answered keeps the first bytes a server sent, once per address.
func (s *Session) answered(addr string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers == nil {
		s.answers = map[string][]byte{}
	}
	if _, ok := s.answers[addr]; !ok {
		s.answers[addr] = append([]byte(nil), b...)
	}
}

// answerOf returns the first bytes of the one server that sent any, nil
// if none or several did, or if they began a TLS handshake: then the
// answer itself went inside TLS, where this connection does not see it.
func (s *Session) answerOf() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.answers) == 1 {
		for _, b := range s.answers {
			if !tlsRecord(b) {
				return b
			}
		}
	}
	return nil
}

// tlsRecord reports whether b begins a TLS handshake record (RFC 8446
// section 5.1: content type 22, then the version's 3).
func tlsRecord(b []byte) bool { return len(b) > 1 && b[0] == 22 && b[1] == 3 }

// quoteBytes shows the start of an answer: its first line as text when
// it is printable, else its first bytes in hex.
func quoteBytes(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	printable := utf8.ValidString(line) && line != ""
	for _, r := range line {
		if r < 0x20 || r == 0x7f {
			printable = false
		}
	}
	if printable {
		return fmt.Sprintf("%q", plugin.Clip(line, 60))
	}
	if len(b) > 16 {
		b = b[:16]
	}
	return fmt.Sprintf("bytes % x", b)
}
