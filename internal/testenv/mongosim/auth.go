package mongosim

import (
	"crypto/rand"
	"errors"
	"sync"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

const scramIterations = 15000

var errNoUser = errors.New("unknown user")

// storedCreds holds what createUser leaves of a user in
// admin.system.users: the SCRAM-SHA-256 credentials derived once from the
// password with one salt, against which every later authentication is
// verified (the manual, "admin.system.users": credentials."SCRAM-SHA-256"
// holds iterationCount, salt, storedKey and serverKey;
// scramSHA256IterationCount defaults to 15000). The collection is
// replicated, so every member of a set answers with the same salt; here
// every simulated server shares one derivation per user and password.
// A salt drawn anew for each conversation, as before, made the simulator
// run PBKDF2 on every authentication and every client too (a driver
// reuses its derived key only for the same salt): two 15,000-round
// derivations a connection, 30-75 ms each under -race, which under load
// outran the tests' connect timeout (TestSCRAM: "server selection
// timeout").
var storedCreds sync.Map // user + "\x00" + password -> scram.StoredCredentials

// credentials returns what the server stores for user, with the SCRAM
// library's own client-side key derivation.
func (s *Server) credentials(user string) (scram.StoredCredentials, error) {
	var pw string
	ok := false
	if s.Users != nil {
		pw, ok = s.Users()[user]
	}
	if !ok {
		return scram.StoredCredentials{}, errNoUser
	}
	key := user + "\x00" + pw
	if c, ok := storedCreds.Load(key); ok {
		return c.(scram.StoredCredentials), nil
	}
	c, err := scram.SHA256.NewClient(user, pw, "")
	if err != nil {
		return scram.StoredCredentials{}, err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return scram.StoredCredentials{}, err
	}
	creds, err := c.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: scramIterations})
	if err != nil {
		return scram.StoredCredentials{}, err
	}
	got, _ := storedCreds.LoadOrStore(key, creds)
	return got.(scram.StoredCredentials), nil
}

// authFailed is mongod's answer to a failed SASL step
// (src/mongo/db/auth/sasl_commands.cpp).
func authFailed() bson.D {
	return CommandError(codes.AuthenticationFailed, "Authentication failed.")
}

func (s *Server) saslStart(cs *Conn, cmd bson.Raw) bson.D {
	mech, _ := cmd.Lookup("mechanism").StringValueOK()
	if mech != "SCRAM-SHA-256" {
		return CommandError(codes.BadValue, "Unsupported mechanism '"+mech+"' on authentication database 'admin'")
	}
	srv, err := scram.SHA256.NewServer(s.credentials)
	if err != nil {
		return authFailed()
	}
	cs.sasl = srv.NewConversation()
	cs.Authed = false
	return s.saslStep(cs, cmd)
}

func (s *Server) saslContinue(cs *Conn, cmd bson.Raw) bson.D {
	if cs.sasl == nil {
		return CommandError(codes.ProtocolError, "No SASL session state found")
	}
	if cs.sasl.Done() {
		// The empty exchange of clients that do not skip it.
		if !cs.sasl.Valid() {
			return authFailed()
		}
		return saslReply(true, nil)
	}
	return s.saslStep(cs, cmd)
}

func (s *Server) saslStep(cs *Conn, cmd bson.Raw) bson.D {
	_, payload, ok := cmd.Lookup("payload").BinaryOK()
	if !ok {
		if str, sok := cmd.Lookup("payload").StringValueOK(); sok {
			payload = []byte(str)
		} else {
			return CommandError(codes.FailedToParse, "missing payload")
		}
	}
	out, err := cs.sasl.Step(string(payload))
	if err != nil {
		cs.sasl = nil
		return authFailed()
	}
	done := cs.sasl.Done()
	if done {
		if !cs.sasl.Valid() {
			return authFailed()
		}
		cs.Authed = true
		skip, _ := cmd.Lookup("options", "skipEmptyExchange").BooleanOK()
		if !skip {
			// Leave the final empty round to saslContinue.
			return saslReply(false, []byte(out))
		}
	}
	return saslReply(done, []byte(out))
}

func saslReply(done bool, payload []byte) bson.D {
	if payload == nil {
		payload = []byte{}
	}
	return bson.D{
		{Key: "conversationId", Value: int32(1)},
		{Key: "done", Value: done},
		{Key: "payload", Value: primitive.Binary{Subtype: 0, Data: payload}},
		{Key: "ok", Value: 1.0},
	}
}
