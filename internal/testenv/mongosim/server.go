package mongosim

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// Request is one command a client sent.
type Request struct {
	// Cmd is the command document; its first key is the command name.
	Cmd bson.Raw
	// Name is the command name as sent ("hello", "isMaster", ...).
	Name string
	// DB is the database the command runs on ($db, or the OP_QUERY
	// namespace's database).
	DB string
	// Legacy: the command came as OP_QUERY (answered with OP_REPLY).
	Legacy bool
}

// Handler answers one command. A nil document closes the connection.
type Handler func(c *Conn, r *Request) bson.D

// Conn is one client connection's state: which server it reached and
// whether it authenticated.
type Conn struct {
	Server *Server
	Authed bool
	sasl   *scram.ServerConversation
}

// Server is one simulated mongod or mongos: a loopback listener that
// speaks the wire protocol (OP_MSG, and OP_QUERY answered with OP_REPLY),
// authenticates SCRAM-SHA-256 users, and answers each command with the
// handler registered for its name. It knows nothing of replica sets:
// the shapes of a topology live in the handlers (see Set for a replica
// set).
type Server struct {
	ln       net.Listener
	addr     string
	handlers map[string]handler
	// Users returns the SCRAM-SHA-256 users (admin database) and their
	// passwords; with none, no command needs authentication.
	Users func() map[string]string
	// Hang, when it returns true as a connection opens, makes the server
	// read that connection and never answer, as a mongod stuck on a lock.
	Hang func() bool

	stats  *Stats
	closed chan struct{}
	wg     sync.WaitGroup
	connMu sync.Mutex
	conns  map[net.Conn]bool
	reqID  atomic.Int32
}

type handler struct {
	fn Handler
	// public commands run without authentication, as mongod allows the
	// handshake, ping, buildInfo and the SASL conversation.
	public bool
}

// Stats counts what the servers of one simulated deployment received.
type Stats struct {
	commands sync.Map // lower-case command name -> *atomic.Int64
	legacy   atomic.Int64
}

// Commands reports how often a command was received (any case).
func (st *Stats) Commands(name string) int {
	v, ok := st.commands.Load(strings.ToLower(name))
	if !ok {
		return 0
	}
	return int(v.(*atomic.Int64).Load())
}

// LegacyRequests reports how many OP_QUERY commands were received.
func (st *Stats) LegacyRequests() int { return int(st.legacy.Load()) }

func (st *Stats) count(name string, legacy bool) {
	v, _ := st.commands.LoadOrStore(strings.ToLower(name), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if legacy {
		st.legacy.Add(1)
	}
}

// NewServer listens on a free loopback port; Serve starts answering.
// stats may be shared by the servers of one deployment.
func NewServer(stats *Stats) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if stats == nil {
		stats = &Stats{}
	}
	s := &Server{ln: ln, addr: ln.Addr().String(), handlers: map[string]handler{},
		stats: stats, closed: make(chan struct{}), conns: map[net.Conn]bool{}}
	s.Handle("ping", func(*Conn, *Request) bson.D { return OK() }, true)
	s.Handle("endSessions", func(*Conn, *Request) bson.D { return OK() }, true)
	s.Handle("saslStart", func(c *Conn, r *Request) bson.D { return s.saslStart(c, r.Cmd) }, true)
	s.Handle("saslContinue", func(c *Conn, r *Request) bson.D { return s.saslContinue(c, r.Cmd) }, true)
	return s, nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// Handle registers the handler of a command (its name in any case);
// public commands need no authentication.
func (s *Server) Handle(name string, h Handler, public bool) {
	s.handlers[strings.ToLower(name)] = handler{fn: h, public: public}
}

// Refuse closes the listener before serving: the port refuses
// connections, as a host whose mongod is not running.
func (s *Server) Refuse() { s.ln.Close() }

// Serve answers connections until Close.
func (s *Server) Serve() {
	s.wg.Add(1)
	go s.accept()
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	s.ln.Close()
	s.connMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.connMu.Lock()
		select {
		case <-s.closed:
			s.connMu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = true
		s.connMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.connMu.Lock()
				delete(s.conns, c)
				s.connMu.Unlock()
				c.Close()
			}()
			s.serve(c)
		}()
	}
}

func (s *Server) serve(nc net.Conn) {
	r := bufio.NewReader(nc)
	if s.Hang != nil && s.Hang() {
		buf := make([]byte, 4096)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}
	c := &Conn{Server: s}
	for {
		req, err := readMessage(r)
		if err != nil {
			return
		}
		doc := s.dispatch(c, req)
		if doc == nil {
			return
		}
		if _, err := nc.Write(encodeReply(s.reqID.Add(1), req, mustDoc(doc))); err != nil {
			return
		}
	}
}

// dispatch answers one command: unknown commands as mongod does
// (CommandNotFound), protected ones only after authentication.
func (s *Server) dispatch(c *Conn, m *request) bson.D {
	elems, err := m.cmd.Elements()
	if err != nil || len(elems) == 0 {
		return CommandError(codes.FailedToParse, "empty command")
	}
	req := &Request{Cmd: m.cmd, Name: elems[0].Key(), DB: m.db, Legacy: m.legacy}
	if db, ok := m.cmd.Lookup("$db").StringValueOK(); ok {
		req.DB = db
	}
	s.stats.count(req.Name, m.legacy)
	h, ok := s.handlers[strings.ToLower(req.Name)]
	if !ok {
		return CommandError(codes.CommandNotFound, fmt.Sprintf("no such command: '%s'", req.Name))
	}
	if !h.public && s.needAuth() && !c.Authed {
		return CommandError(codes.Unauthorized, fmt.Sprintf("command %s requires authentication", req.Name))
	}
	return h.fn(c, req)
}

func (s *Server) needAuth() bool { return s.Users != nil && len(s.Users()) > 0 }

// OK is the reply of a command that has nothing to say.
func OK() bson.D { return bson.D{{Key: "ok", Value: 1.0}} }

// CommandError is mongod's error reply (ok 0, errmsg, code, codeName),
// as src/mongo/db/commands.cpp appends a failed command's status.
func CommandError(code codes.Code, msg string) bson.D {
	return bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: msg},
		{Key: "code", Value: int32(code)}, {Key: "codeName", Value: code.Name()}}
}

func mustDoc(d any) bson.Raw {
	b, err := bson.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}
