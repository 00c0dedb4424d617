package replset

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
)

// Hello is the part of a hello (or isMaster) reply the replica-set modes
// use (manual, "hello": response fields).
type Hello struct {
	SetName   string             `bson:"setName"`
	Hosts     []string           `bson:"hosts"`
	Passives  []string           `bson:"passives"`
	Arbiters  []string           `bson:"arbiters"`
	Primary   string             `bson:"primary"`
	Me        string             `bson:"me"`
	Writable  bool               `bson:"isWritablePrimary"`
	IsMaster  bool               `bson:"ismaster"`
	Secondary bool               `bson:"secondary"`
	Arbiter   bool               `bson:"arbiterOnly"`
	Hidden    bool               `bson:"hidden"`
	Election  primitive.ObjectID `bson:"electionId"`
	LastWrite struct {
		OpTime struct {
			T int64 `bson:"t"`
		} `bson:"opTime"`
	} `bson:"lastWrite"`
}

// DecodeHello decodes a hello (or legacy isMaster) reply.
func DecodeHello(raw bson.Raw) (*Hello, error) {
	var h Hello
	if err := bsondoc.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decoding hello: %v", err)
	}
	h.Writable = h.Writable || h.IsMaster
	return &h, nil
}

// Term is the election term hello shows: the primary's electionId holds
// it (protocol version 1: OID::fromTerm, the term in the last 8 bytes);
// any member's lastWrite.opTime.t is the term of the last write it
// applied, and a new primary writes a no-op in its new term at once. 0
// when neither is there.
func (h *Hello) Term() int64 {
	if !h.Election.IsZero() && h.Election[0] == 0x7f && h.Election[1] == 0xff {
		var t int64
		for _, b := range h.Election[4:] {
			t = t<<8 | int64(b)
		}
		return t
	}
	return h.LastWrite.OpTime.T
}

// Where names the set and the member from hello, as Status.Where does.
func (h *Hello) Where() string {
	if h == nil || h.SetName == "" {
		return ""
	}
	role := "not primary or secondary"
	switch {
	case h.Writable:
		role = "PRIMARY"
	case h.Secondary:
		role = "SECONDARY"
	case h.Arbiter:
		role = "ARBITER"
	}
	if h.Me == "" {
		return h.SetName
	}
	return fmt.Sprintf("%s via %s (%s)", h.SetName, h.Me, role)
}

// ApplyHello marks the members hello does not list (in hosts, passives or
// arbiters) as unlisted. mongod leaves out hidden members and
// members with a secondary delay alike (topology_coordinator.cpp
// fillHelloForReplSet), so without the configuration the check knows
// only that such a member is one or the other.
func (st *Status) ApplyHello(h *Hello) {
	if h == nil || len(h.Hosts)+len(h.Passives)+len(h.Arbiters) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, l := range [][]string{h.Hosts, h.Passives, h.Arbiters} {
		for _, n := range l {
			seen[n] = true
		}
	}
	for i := range st.Members {
		st.Members[i].Unlisted = !seen[st.Members[i].Name]
	}
}
