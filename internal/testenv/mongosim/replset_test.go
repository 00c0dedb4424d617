package mongosim

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

func connect(t *testing.T, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	o := options.Client().ApplyURI(uri).SetServerSelectionTimeout(3 * time.Second).SetConnectTimeout(2 * time.Second)
	c, err := mongo.Connect(context.Background(), append([]*options.ClientOptions{o}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c
}

func healthy() Scenario {
	return Scenario{Members: []Member{{State: Primary}, {State: Secondary, Lag: 2 * time.Second}, {State: Secondary}}}
}

func TestDriverDiscoversPrimary(t *testing.T) {
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			sc := healthy()
			sc.Version = v
			// Seed the driver with a secondary only: it must find the
			// primary through hello's hosts list.
			set := Start(t, sc)
			c := connect(t, set.URI(2))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var st struct {
				Set     string `bson:"set"`
				Members []struct {
					Name string `bson:"name"`
					Self bool   `bson:"self"`
				} `bson:"members"`
			}
			if err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetGetStatus", Value: 1}}).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if st.Set != "rs0" || len(st.Members) != 3 {
				t.Fatalf("status %+v", st)
			}
			var self string
			for _, m := range st.Members {
				if m.Self {
					self = m.Name
				}
			}
			if self != set.Addr(0) {
				t.Fatalf("command ran on %s, want the primary %s", self, set.Addr(0))
			}
			var hello bson.M
			if err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}, options.RunCmd().SetReadPreference(readpref.Secondary())).Decode(&hello); err != nil {
				t.Fatal(err)
			}
			if hello["secondary"] != true || hello["primary"] != set.Addr(0) {
				t.Fatalf("hello from a secondary: %v", hello)
			}
			// The driver's first handshake on each connection is a legacy
			// OP_QUERY isMaster; everything after it is OP_MSG.
			if set.LegacyRequests() == 0 || set.Commands("hello") == 0 {
				t.Fatalf("legacy requests %d, OP_MSG hellos %d: both protocols should have been used", set.LegacyRequests(), set.Commands("hello"))
			}
		})
	}
}

func TestOplogEntries(t *testing.T) {
	sc := healthy()
	sc.Members[0].OplogWindow = 10 * time.Hour
	set := Start(t, sc)
	c := connect(t, set.DirectURI(0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	coll := c.Database("local").Collection("oplog.rs")
	var first, last struct {
		TS primitive.Timestamp `bson:"ts"`
	}
	if err := coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "$natural", Value: 1}})).Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "$natural", Value: -1}})).Decode(&last); err != nil {
		t.Fatal(err)
	}
	if got := last.TS.T - first.TS.T; got != 36000 {
		t.Fatalf("window %d s, want 36000", got)
	}
}

func TestSCRAM(t *testing.T) {
	sc := healthy()
	sc.Users = map[string]string{"monitor": "s3cr3t"}
	set := Start(t, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	good := connect(t, set.URI(), options.Client().SetAuth(options.Credential{Username: "monitor", Password: "s3cr3t"}))
	if err := good.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetGetStatus", Value: 1}}).Err(); err != nil {
		t.Fatalf("authenticated command: %v", err)
	}
	if set.Commands("saslStart") == 0 {
		t.Fatal("no saslStart received")
	}

	bad := connect(t, set.URI(), options.Client().SetAuth(options.Credential{Username: "monitor", Password: "wrong"}))
	err := bad.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetGetStatus", Value: 1}}).Err()
	if err == nil || !strings.Contains(err.Error(), "uthentication failed") {
		t.Fatalf("wrong password: %v", err)
	}

	anon := connect(t, set.DirectURI(0))
	err = anon.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetGetStatus", Value: 1}}).Err()
	if err == nil || !strings.Contains(err.Error(), "requires authentication") {
		t.Fatalf("unauthenticated: %v", err)
	}
}

func TestHangingMemberTimesOut(t *testing.T) {
	set := Start(t, Scenario{Members: []Member{{State: Primary, Hang: true}}})
	c := connect(t, set.DirectURI(0))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Ping(ctx, nil)
	if err == nil {
		t.Fatal("ping to a hanging member succeeded")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestUnreachableRefuses(t *testing.T) {
	set := Start(t, Scenario{Members: []Member{{State: Primary}, {State: Secondary, Unreachable: true}}})
	if c, err := net.DialTimeout("tcp", set.Addr(1), time.Second); err == nil {
		c.Close()
		t.Fatal("unreachable member accepted a connection")
	}
}

// TestLegacyHandshake speaks OP_QUERY isMaster by hand, as old drivers
// and the initial handshake do, and checks the OP_REPLY.
func TestLegacyHandshake(t *testing.T) {
	set := Start(t, healthy())
	c, err := net.DialTimeout("tcp", set.Addr(1), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	q, _ := bson.Marshal(bson.D{{Key: "isMaster", Value: 1}})
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = append(body, "admin.$cmd\x00"...)
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = binary.LittleEndian.AppendUint32(body, uint32(0xffffffff))
	body = append(body, q...)
	var msg []byte
	msg = binary.LittleEndian.AppendUint32(msg, uint32(16+len(body)))
	msg = binary.LittleEndian.AppendUint32(msg, 7)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = binary.LittleEndian.AppendUint32(msg, opQuery)
	if _, err := c.Write(append(msg, body...)); err != nil {
		t.Fatal(err)
	}
	var hdr [16]byte
	if _, err := readFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	if op := binary.LittleEndian.Uint32(hdr[12:]); op != opReply {
		t.Fatalf("opcode %d, want OP_REPLY", op)
	}
	if rt := binary.LittleEndian.Uint32(hdr[8:]); rt != 7 {
		t.Fatalf("responseTo %d", rt)
	}
	rest := make([]byte, binary.LittleEndian.Uint32(hdr[:])-16)
	if _, err := readFull(c, rest); err != nil {
		t.Fatal(err)
	}
	doc := bson.Raw(rest[20:])
	if doc.Lookup("ismaster").Boolean() || !doc.Lookup("secondary").Boolean() || doc.Lookup("setName").StringValue() != "rs0" {
		t.Fatalf("reply %s", doc)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func FuzzReadMessage(f *testing.F) {
	q, _ := bson.Marshal(bson.D{{Key: "hello", Value: 1}})
	var msg []byte
	msg = binary.LittleEndian.AppendUint32(msg, uint32(16+5+len(q)))
	msg = binary.LittleEndian.AppendUint32(msg, 1)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = binary.LittleEndian.AppendUint32(msg, opMsg)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = append(msg, 0)
	msg = append(msg, q...)
	f.Add(msg)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := readMessage(bytes.NewReader(b))
		if err == nil && req.cmd == nil {
			t.Fatal("nil command without error")
		}
	})
}
