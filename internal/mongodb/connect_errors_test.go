package mongodb_test

import (
	"net"
	"testing"
	"time"
)

// A port where another service speaks first, as an SSH server does (its
// identification line, RFC 4253 section 4.2, is sent on connect): the
// first bytes of its answer are no wire-protocol message length. One
// CRITICAL line says so and what to check, not the driver's error four
// times over.
func TestNotMongoDBServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"))
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Read(make([]byte, 512))
			}()
		}
	}()
	addr := l.Addr().String()
	for _, mode := range []string{"connect", "replset-state", "shards"} {
		r := rsRun(t, nil, "--uri", "mongodb://"+addr+"/", "--mode", mode, "-t", "5")
		rsWant(t, r, 2, "MONGODB CRITICAL - cannot connect to "+addr+": the answer is not the MongoDB wire protocol (length of read message too large), check that -H/-P or --uri name the port of a mongod or mongos")
		rsLacks(t, r, "connection(")
		if r.Elapsed > 4*time.Second {
			t.Errorf("%s: answered after %v", mode, r.Elapsed)
		}
	}
}
