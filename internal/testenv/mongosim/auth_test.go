package mongosim

import (
	"testing"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

func saslCmd(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func payloadOf(t *testing.T, reply bson.D) (string, bool) {
	t.Helper()
	raw := mustDoc(reply)
	if ok, _ := raw.Lookup("ok").DoubleOK(); ok != 1 {
		t.Fatalf("sasl reply %s", raw)
	}
	_, p, _ := raw.Lookup("payload").BinaryOK()
	return string(p), raw.Lookup("done").Boolean()
}

// TestSCRAMConversation runs the conversation with the SCRAM library's
// client, with and without the final empty exchange the driver skips.
func TestSCRAMConversation(t *testing.T) {
	for _, skip := range []bool{true, false} {
		for _, pw := range []string{"right", "wrong"} {
			set := &Server{Users: func() map[string]string { return map[string]string{"u": "right"} }}
			cs := &Conn{Server: set}
			cl, err := scram.SHA256.NewClient("u", pw, "")
			if err != nil {
				t.Fatal(err)
			}
			conv := cl.NewConversation()
			first, _ := conv.Step("")
			reply := set.saslStart(cs, saslCmd(t, bson.D{{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: "SCRAM-SHA-256"},
				{Key: "payload", Value: primitive.Binary{Data: []byte(first)}}, {Key: "options", Value: bson.D{{Key: "skipEmptyExchange", Value: skip}}}}))
			p, done := payloadOf(t, reply)
			if done {
				t.Fatal("done after the first message")
			}
			final, err := conv.Step(p)
			if err != nil {
				t.Fatal(err)
			}
			reply = set.saslContinue(cs, saslCmd(t, bson.D{{Key: "saslContinue", Value: 1}, {Key: "conversationId", Value: 1},
				{Key: "payload", Value: primitive.Binary{Data: []byte(final)}}, {Key: "options", Value: bson.D{{Key: "skipEmptyExchange", Value: skip}}}}))
			if pw == "wrong" {
				if code := mustDoc(reply).Lookup("code").Int32(); code != 18 || cs.Authed {
					t.Fatalf("wrong password: code %d, authed %v", code, cs.Authed)
				}
				continue
			}
			p, done = payloadOf(t, reply)
			if _, err := conv.Step(p); err != nil || !conv.Valid() {
				t.Fatalf("server signature rejected: %v", err)
			}
			if done != skip {
				t.Fatalf("skip=%v: done=%v after the final message", skip, done)
			}
			if !skip {
				_, done = payloadOf(t, set.saslContinue(cs, saslCmd(t, bson.D{{Key: "saslContinue", Value: 1}, {Key: "payload", Value: primitive.Binary{Data: []byte{}}}})))
				if !done {
					t.Fatal("empty exchange did not finish")
				}
			}
			if !cs.Authed {
				t.Fatal("not authenticated")
			}
		}
	}
}
