package mongosim

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// snapshot is the scenario as one request sees it.
type snapshot struct {
	sc      Scenario
	ver     version
	addrs   []string
	procIDs []primitive.ObjectID
	setID   primitive.ObjectID
	counter int64
	now     time.Time
	uptime  int32
}

func (s *Set) snap() snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.sc
	sc.Members = append([]Member(nil), s.sc.Members...)
	now := sc.Now
	if now.IsZero() {
		now = time.Now()
	}
	return snapshot{sc: sc, ver: s.ver, addrs: s.addrs, procIDs: s.procIDs, setID: s.setID,
		counter: s.counter.Load(), now: now, uptime: int32(time.Since(s.started).Seconds()) + 3600}
}

func (m Member) priority() float64 {
	if m.Priority != nil {
		return *m.Priority
	}
	if m.Hidden || m.Delay > 0 || m.State == Arbiter {
		return 0
	}
	return 1
}

// down says whether the other members see the member as DOWN.
func (m Member) down() bool { return m.Unreachable || (m.Hang && !m.HangSeenUp) }

// unhealthy says whether the other members report health 0.
func (m Member) unhealthy() bool { return m.down() || m.AuthFailed }

func (m Member) votes() int32 {
	if m.NoVote {
		return 0
	}
	return 1
}

func (m Member) term() int64 {
	if m.Term > 0 {
		return m.Term
	}
	return 1
}

// hasOptime: a member in STARTUP or STARTUP2 (initial sync) has applied
// nothing yet, and replSetGetStatus shows its optime as Timestamp(0, 0),
// term -1, optimeDate 1970: topology_coordinator.cpp appends the
// member's heartbeat optime, and prepareHeartbeatResponseV1 sends null
// applied and durable optimes "if we are in STARTUP_2" only. A
// RECOVERING (or ROLLBACK) member sends, and is shown with, the optime
// it reached.
func (m Member) hasOptime() bool {
	return m.State != Startup && m.State != Startup2 && m.State != Arbiter
}

// optime is member i's last applied optime.
func (sn snapshot) optime(i int) time.Time {
	return sn.now.Add(-sn.sc.Members[i].Lag).Truncate(time.Second)
}

func ts(t time.Time) primitive.Timestamp { return primitive.Timestamp{T: uint32(t.Unix()), I: 1} }

func date(t time.Time) primitive.DateTime { return primitive.NewDateTimeFromTime(t) }

// epoch is the date replSetGetStatus shows for an unknown optime.
var epoch = time.Unix(0, 0).UTC()

// opTime is an OpTime as repl/optime.cpp appends it: {ts, t}.
func opTime(t time.Time, term int64) bson.D {
	return bson.D{{Key: "ts", Value: ts(t)}, {Key: "t", Value: term}}
}

// nullOpTime is OpTime() appended: Timestamp(0, 0), term -1.
func nullOpTime() bson.D {
	return bson.D{{Key: "ts", Value: primitive.Timestamp{}}, {Key: "t", Value: int64(-1)}}
}

// electionID encodes the term the way protocol version 1 does
// (OID::fromTerm in src/mongo/bson/oid.cpp: the max OID prefix, then the
// term), so a newer primary has the larger electionId.
func electionID(term int64) primitive.ObjectID {
	var id primitive.ObjectID
	copy(id[:], []byte{0x7f, 0xff, 0xff, 0xff})
	for k := 0; k < 8; k++ {
		id[11-k] = byte(term >> (8 * k))
	}
	return id
}

// seenPrimary is the primary member i believes in: itself when it is
// one, else the first healthy primary.
func (sn snapshot) seenPrimary(i int) int {
	if sn.sc.Members[i].State == Primary {
		return i
	}
	for j, m := range sn.sc.Members {
		if m.State == Primary && !m.unhealthy() {
			return j
		}
	}
	return -1
}

func (sn snapshot) maxTerm() int64 {
	t := int64(1)
	for _, m := range sn.sc.Members {
		if m.State == Primary && m.term() > t {
			t = m.term()
		}
	}
	return t
}

// syncSource is the member member j copies from: the primary for a
// secondary, recovering or initial-syncing member, none otherwise.
func (sn snapshot) syncSource(j int) (string, int32) {
	m := sn.sc.Members[j]
	if is := m.InitialSync; is != nil && is.SyncSource != "" {
		for k, a := range sn.addrs {
			if a == is.SyncSource {
				return a, int32(k)
			}
		}
	}
	if m.State == Secondary || m.State == Recovering || m.State == Startup2 {
		if p := sn.seenPrimary(j); p >= 0 && p != j {
			return sn.addrs[p], int32(p)
		}
	}
	return "", -1
}
