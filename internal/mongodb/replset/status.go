package replset

import (
	"fmt"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
)

// MissingError says which field a reply lacks.
type MissingError struct{ Field string }

func (e *MissingError) Error() string { return "server does not report " + e.Field }

// Member is one member as replSetGetStatus reports it, merged with what
// replSetGetConfig (or, lacking that, hello) says about it.
type Member struct {
	Name   string
	Health float64
	State  State
	Self   bool
	// Optime is the last applied operation's time (optimeDate, or
	// optime.ts); zero when unknown (arbiters, members in initial sync,
	// unreachable members: mongod writes Timestamp(0, 0) and 1970).
	Optime time.Time
	// LastHeartbeatRecv is when the member answering last heard from this
	// one (zero for self).
	LastHeartbeatRecv time.Time
	SyncSource        string
	Message           string
	// AuthFailed: "authenticated": false, which mongod writes only when
	// the member's heartbeats fail internal authentication
	// (member_data.cpp setAuthIssue).
	AuthFailed bool

	// From the configuration (ConfigKnown) or hello.
	Hidden  bool
	Delay   time.Duration
	Votes   int
	Arbiter bool
	// Unlisted: hello lists the member nowhere (hosts, passives,
	// arbiters). mongod lists neither hidden nor delayed members, so
	// without the configuration an unlisted member is "hidden or
	// delayed", its delay unknown.
	Unlisted bool
	// Configured: the configuration was read and lists the member, so
	// Hidden, Delay and Votes are known.
	Configured bool
}

// InitialSync is initialSyncStatus, which a member reports about itself
// while in initial sync (4.2.1+; manual, replSetGetStatus).
type InitialSync struct {
	Failed, MaxFailed int
	Start             time.Time
	// LastStatus and LastSource are those of the last failed attempt.
	LastStatus, LastSource string
}

// Status is a decoded replSetGetStatus reply.
type Status struct {
	Set  string
	Date time.Time
	// MajorityVoteCount (4.2.1+) and VotingMembers (4.4+); zero when
	// absent.
	MajorityVoteCount int
	VotingMembers     int
	Members           []Member
	// InitialSync is set when the answering member is in initial sync;
	// Others holds what other members in initial sync reported about
	// themselves when the check asked them (by member name).
	InitialSync *InitialSync
	Others      map[string]*InitialSync
	// ConfigKnown says hidden, delay and votes come from the
	// configuration rather than defaults.
	ConfigKnown bool
}

type rawStatus struct {
	Set               string             `bson:"set"`
	Date              primitive.DateTime `bson:"date"`
	MajorityVoteCount int                `bson:"majorityVoteCount"`
	VotingMembers     int                `bson:"votingMembersCount"`
	Members           []bson.Raw         `bson:"members"`
	InitialSync       *struct {
		Failed    int                `bson:"failedInitialSyncAttempts"`
		MaxFailed int                `bson:"maxFailedInitialSyncAttempts"`
		Start     primitive.DateTime `bson:"initialSyncStart"`
		Attempts  []struct {
			Status     string `bson:"status"`
			SyncSource string `bson:"syncSource"`
		} `bson:"initialSyncAttempts"`
	} `bson:"initialSyncStatus"`
}

// rawMember is what the verdicts read of a member document (fields of
// topology_coordinator.cpp prepareStatusResponse).
type rawMember struct {
	Name              string             `bson:"name"`
	Health            *float64           `bson:"health"`
	State             int                `bson:"state"`
	Self              bool               `bson:"self"`
	Optime            bson.RawValue      `bson:"optime"`
	OptimeDate        primitive.DateTime `bson:"optimeDate"`
	LastHeartbeatRecv primitive.DateTime `bson:"lastHeartbeatRecv"`
	SyncSourceHost    string             `bson:"syncSourceHost"`
	SyncingTo         string             `bson:"syncingTo"`
	InfoMessage       string             `bson:"infoMessage"`
	HeartbeatMessage  string             `bson:"lastHeartbeatMessage"`
	Authenticated     *bool              `bson:"authenticated"`
}

// Date converts a BSON date; the epoch and before are "unknown".
func Date(d primitive.DateTime) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return d.Time().UTC()
}

// optime reads an optime: {ts: Timestamp, t: term} (protocol version
// 1) or a bare Timestamp (protocol version 0).
func optime(v bson.RawValue) time.Time {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		if t, _, ok := v.Document().Lookup("ts").TimestampOK(); ok && t > 0 {
			return time.Unix(int64(t), 0).UTC()
		}
	case bson.TypeTimestamp:
		if t, _ := v.Timestamp(); t > 0 {
			return time.Unix(int64(t), 0).UTC()
		}
	}
	return time.Time{}
}

// DecodeStatus decodes a replSetGetStatus reply, whichever server version
// shaped it (syncingTo next to syncSourceHost until 4.2).
func DecodeStatus(raw bson.Raw) (*Status, error) {
	var rs rawStatus
	if err := bsondoc.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("decoding replSetGetStatus: %v", err)
	}
	if rs.Set == "" {
		return nil, &MissingError{Field: "replSetGetStatus.set"}
	}
	if len(rs.Members) == 0 {
		return nil, &MissingError{Field: "replSetGetStatus.members"}
	}
	st := &Status{Set: rs.Set, Date: Date(rs.Date),
		MajorityVoteCount: rs.MajorityVoteCount, VotingMembers: rs.VotingMembers}
	if is := rs.InitialSync; is != nil {
		st.InitialSync = &InitialSync{Failed: is.Failed, MaxFailed: is.MaxFailed, Start: Date(is.Start)}
		if n := len(is.Attempts); n > 0 {
			st.InitialSync.LastStatus = is.Attempts[n-1].Status
			st.InitialSync.LastSource = is.Attempts[n-1].SyncSource
		}
	}
	for i, mr := range rs.Members {
		var m rawMember
		if err := bsondoc.Unmarshal(mr, &m); err != nil {
			return nil, fmt.Errorf("decoding replSetGetStatus.members.%d: %v", i, err)
		}
		if m.Name == "" {
			return nil, &MissingError{Field: fmt.Sprintf("replSetGetStatus.members.%d.name", i)}
		}
		rm := Member{Name: m.Name, Health: 1, State: State(m.State), Self: m.Self,
			LastHeartbeatRecv: Date(m.LastHeartbeatRecv), Votes: 1,
			Arbiter:    State(m.State) == Arbiter,
			AuthFailed: m.Authenticated != nil && !*m.Authenticated}
		if m.Health != nil {
			rm.Health = *m.Health
		}
		rm.Optime = Date(m.OptimeDate)
		if rm.Optime.IsZero() {
			rm.Optime = optime(m.Optime)
		}
		rm.SyncSource = m.SyncSourceHost
		if rm.SyncSource == "" {
			rm.SyncSource = m.SyncingTo
		}
		rm.Message = m.HeartbeatMessage
		if rm.Message == "" {
			rm.Message = m.InfoMessage
		}
		st.Members = append(st.Members, rm)
	}
	return st, nil
}

// Self is the member that answered, nil when none is marked self.
func (st *Status) Self() *Member {
	for i := range st.Members {
		if st.Members[i].Self {
			return &st.Members[i]
		}
	}
	return nil
}

// Member returns the member named name, or nil.
func (st *Status) Member(name string) *Member {
	for i := range st.Members {
		if st.Members[i].Name == name {
			return &st.Members[i]
		}
	}
	return nil
}

// Healthy reports whether the member is reachable and in a state the
// others consider up.
func (m *Member) Healthy() bool {
	return m.Health >= 1 && m.State != Down && m.State != Unknown && m.State != Removed
}

// Primaries are the healthy members in state PRIMARY.
func (st *Status) Primaries() []*Member {
	var out []*Member
	for i := range st.Members {
		if m := &st.Members[i]; m.State == Primary && m.Healthy() {
			out = append(out, m)
		}
	}
	return out
}

// sorted returns the members in name order, for stable output.
func (st *Status) sorted() []*Member {
	out := make([]*Member, 0, len(st.Members))
	for i := range st.Members {
		out = append(out, &st.Members[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Where names the set and the member that answered, for summaries: "rs0
// via 127.0.0.1:27017 (SECONDARY)".
func (st *Status) Where() string {
	if self := st.Self(); self != nil {
		return fmt.Sprintf("%s via %s (%s)", st.Set, self.Name, self.State)
	}
	return st.Set
}
