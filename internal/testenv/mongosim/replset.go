package mongosim

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// snapshot is the scenario as one request sees it.
type snapshot struct {
	sc      Scenario
	addrs   []string
	procIDs []primitive.ObjectID
	counter int64
	now     time.Time
	uptime  int64
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
	return snapshot{sc: sc, addrs: s.addrs, procIDs: s.procIDs, counter: s.counter.Load(),
		now: now, uptime: int64(time.Since(s.started).Seconds()) + 3600}
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

// optime is the member's last applied optime.
func (sn snapshot) optime(i int) time.Time {
	return sn.now.Add(-sn.sc.Members[i].Lag).Truncate(time.Second)
}

func ts(t time.Time) primitive.Timestamp { return primitive.Timestamp{T: uint32(t.Unix()), I: 1} }

func opTime(t time.Time, term int64) bson.D {
	return bson.D{{Key: "ts", Value: ts(t)}, {Key: "t", Value: term}}
}

// electionID encodes the term the way mongod does (max OID prefix +
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
// one, else the first reachable primary.
func (sn snapshot) seenPrimary(i int) int {
	if sn.sc.Members[i].State == Primary {
		return i
	}
	for j, m := range sn.sc.Members {
		if m.State == Primary && !m.down() {
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

func (s *Set) hello(cs *conn, req *request, legacy bool) bson.Raw {
	s.awaitHello(req.cmd)
	sn := s.snap()
	i := cs.member
	m := sn.sc.Members[i]
	writable := m.State == Primary
	d := bson.D{}
	if legacy {
		d = append(d, bson.E{Key: "ismaster", Value: writable})
	} else {
		d = append(d, bson.E{Key: "isWritablePrimary", Value: writable})
	}
	if _, ok := req.cmd.Lookup("helloOk").BooleanOK(); ok {
		d = append(d, bson.E{Key: "helloOk", Value: true})
	}
	d = append(d, bson.E{Key: "topologyVersion", Value: bson.D{{Key: "processId", Value: sn.procIDs[i]}, {Key: "counter", Value: sn.counter}}})
	if m.State == Removed {
		d = append(d, bson.E{Key: "secondary", Value: false},
			bson.E{Key: "info", Value: "Does not have a valid replica set config"},
			bson.E{Key: "isreplicaset", Value: true})
	} else {
		var hosts, passives, arbiters bson.A
		for j, o := range sn.sc.Members {
			switch {
			case o.Hidden:
			case o.State == Arbiter:
				arbiters = append(arbiters, sn.addrs[j])
			case o.priority() == 0:
				passives = append(passives, sn.addrs[j])
			default:
				hosts = append(hosts, sn.addrs[j])
			}
		}
		d = append(d, bson.E{Key: "hosts", Value: hosts})
		if len(passives) > 0 {
			d = append(d, bson.E{Key: "passives", Value: passives})
		}
		if len(arbiters) > 0 {
			d = append(d, bson.E{Key: "arbiters", Value: arbiters})
		}
		d = append(d, bson.E{Key: "setName", Value: sn.sc.SetName}, bson.E{Key: "setVersion", Value: int32(3)})
		if p := sn.seenPrimary(i); p >= 0 {
			d = append(d, bson.E{Key: "primary", Value: sn.addrs[p]})
		}
		d = append(d, bson.E{Key: "me", Value: sn.addrs[i]},
			bson.E{Key: "secondary", Value: m.State == Secondary})
		if m.State == Arbiter {
			d = append(d, bson.E{Key: "arbiterOnly", Value: true})
		}
		if m.Hidden {
			d = append(d, bson.E{Key: "hidden", Value: true})
		}
		if m.priority() == 0 && m.State != Arbiter {
			d = append(d, bson.E{Key: "passive", Value: true})
		}
		if writable {
			d = append(d, bson.E{Key: "electionId", Value: electionID(m.term())})
		}
		if m.State != Arbiter {
			op := sn.optime(i)
			d = append(d, bson.E{Key: "lastWrite", Value: bson.D{
				{Key: "opTime", Value: opTime(op, sn.maxTerm())},
				{Key: "lastWriteDate", Value: primitive.NewDateTimeFromTime(op)},
				{Key: "majorityOpTime", Value: opTime(op, sn.maxTerm())},
				{Key: "majorityWriteDate", Value: primitive.NewDateTimeFromTime(op)},
			}})
		}
	}
	d = append(d,
		bson.E{Key: "maxBsonObjectSize", Value: int32(16 * 1024 * 1024)},
		bson.E{Key: "maxMessageSizeBytes", Value: int32(48000000)},
		bson.E{Key: "maxWriteBatchSize", Value: int32(100000)},
		bson.E{Key: "localTime", Value: primitive.NewDateTimeFromTime(sn.now)},
		bson.E{Key: "logicalSessionTimeoutMinutes", Value: int32(30)},
		bson.E{Key: "connectionId", Value: int32(cs.member*1000 + 1)},
		bson.E{Key: "minWireVersion", Value: int32(0)},
		bson.E{Key: "maxWireVersion", Value: wireVersions[sn.sc.Version]},
		bson.E{Key: "readOnly", Value: false},
	)
	if s.needAuth() {
		if _, ok := req.cmd.Lookup("saslSupportedMechs").StringValueOK(); ok {
			d = append(d, bson.E{Key: "saslSupportedMechs", Value: bson.A{"SCRAM-SHA-256"}})
		}
	}
	d = append(d, bson.E{Key: "ok", Value: 1.0})
	return mustDoc(d)
}

func (s *Set) replSetGetStatus(i int) bson.D {
	sn := s.snap()
	self := sn.sc.Members[i]
	if self.State == Removed {
		return removedError()
	}
	old := sn.sc.Version == "4.4"
	term := sn.maxTerm()
	hb := primitive.NewDateTimeFromTime(sn.now.Add(-sn.sc.HeartbeatAge))
	var members bson.A
	var voting, writableVoting int32
	for j, m := range sn.sc.Members {
		isSelf := j == i
		voting += m.votes()
		if m.State != Arbiter {
			writableVoting += m.votes()
		}
		state := m.State
		health := 1.0
		if m.down() && !isSelf {
			state, health = Down, 0
		}
		stateStr := state.String()
		if state == Down {
			stateStr = "(not reachable/healthy)"
		}
		d := bson.D{
			{Key: "_id", Value: int32(j)},
			{Key: "name", Value: sn.addrs[j]},
			{Key: "health", Value: health},
			{Key: "state", Value: int32(state)},
			{Key: "stateStr", Value: stateStr},
			{Key: "uptime", Value: sn.uptime},
		}
		if state == Down {
			zero := time.Unix(0, 0).UTC()
			d = append(d,
				bson.E{Key: "optime", Value: bson.D{{Key: "ts", Value: primitive.Timestamp{}}, {Key: "t", Value: int64(-1)}}},
				bson.E{Key: "optimeDurable", Value: bson.D{{Key: "ts", Value: primitive.Timestamp{}}, {Key: "t", Value: int64(-1)}}},
				bson.E{Key: "optimeDate", Value: primitive.NewDateTimeFromTime(zero)},
				bson.E{Key: "optimeDurableDate", Value: primitive.NewDateTimeFromTime(zero)},
				bson.E{Key: "lastHeartbeat", Value: hb},
				bson.E{Key: "lastHeartbeatRecv", Value: primitive.NewDateTimeFromTime(zero)},
				bson.E{Key: "pingMs", Value: int64(0)},
				bson.E{Key: "lastHeartbeatMessage", Value: heartbeatError(m, sn.addrs[j])},
				bson.E{Key: "authenticated", Value: false},
			)
			members = append(members, d)
			continue
		}
		if m.State != Arbiter {
			op := sn.optime(j)
			d = append(d,
				bson.E{Key: "optime", Value: opTime(op, term)},
				bson.E{Key: "optimeDate", Value: primitive.NewDateTimeFromTime(op)})
			if sn.sc.Version == "8.0" {
				d = append(d,
					bson.E{Key: "optimeWritten", Value: opTime(op, term)},
					bson.E{Key: "optimeWrittenDate", Value: primitive.NewDateTimeFromTime(op)})
			}
			if !isSelf {
				d = append(d,
					bson.E{Key: "optimeDurable", Value: opTime(op, term)},
					bson.E{Key: "optimeDurableDate", Value: primitive.NewDateTimeFromTime(op)})
			}
			d = append(d,
				bson.E{Key: "lastAppliedWallTime", Value: primitive.NewDateTimeFromTime(op)},
				bson.E{Key: "lastDurableWallTime", Value: primitive.NewDateTimeFromTime(op)})
		}
		if !isSelf {
			d = append(d,
				bson.E{Key: "lastHeartbeat", Value: hb},
				bson.E{Key: "lastHeartbeatRecv", Value: hb},
				bson.E{Key: "pingMs", Value: int64(0)},
				bson.E{Key: "lastHeartbeatMessage", Value: ""})
		}
		src := ""
		if m.State == Secondary || m.State == Recovering || m.State == Startup2 {
			if p := sn.seenPrimary(j); p >= 0 && p != j {
				src = sn.addrs[p]
			}
		}
		if old {
			d = append(d, bson.E{Key: "syncingTo", Value: src})
		} else {
			d = append(d, bson.E{Key: "syncSourceHost", Value: src}, bson.E{Key: "syncSourceId", Value: int32(-1)})
		}
		d = append(d, bson.E{Key: "infoMessage", Value: ""})
		if m.Delay > 0 {
			if old {
				d = append(d, bson.E{Key: "slaveDelay", Value: int32(m.Delay / time.Second)})
			} else {
				d = append(d, bson.E{Key: "secondaryDelaySecs", Value: int64(m.Delay / time.Second)})
			}
		}
		if m.State == Primary {
			et := sn.now.Add(-time.Hour)
			d = append(d, bson.E{Key: "electionTime", Value: ts(et)},
				bson.E{Key: "electionDate", Value: primitive.NewDateTimeFromTime(et)})
		}
		d = append(d, bson.E{Key: "configVersion", Value: int32(3)}, bson.E{Key: "configTerm", Value: term})
		if isSelf {
			d = append(d, bson.E{Key: "self", Value: true})
		}
		members = append(members, d)
	}
	newest := bson.D{}
	if self.State != Arbiter {
		newest = opTime(sn.optime(i), term)
	}
	out := bson.D{
		{Key: "set", Value: sn.sc.SetName},
		{Key: "date", Value: primitive.NewDateTimeFromTime(sn.now)},
		{Key: "myState", Value: int32(self.State)},
		{Key: "term", Value: term},
		{Key: "heartbeatIntervalMillis", Value: int64(2000)},
	}
	if !old {
		out = append(out,
			bson.E{Key: "majorityVoteCount", Value: voting/2 + 1},
			bson.E{Key: "writeMajorityCount", Value: writableVoting/2 + 1},
			bson.E{Key: "votingMembersCount", Value: voting},
			bson.E{Key: "writableVotingMembersCount", Value: writableVoting})
	}
	out = append(out,
		bson.E{Key: "optimes", Value: bson.D{{Key: "lastCommittedOpTime", Value: newest}, {Key: "appliedOpTime", Value: newest}, {Key: "durableOpTime", Value: newest}}},
		bson.E{Key: "members", Value: members},
		bson.E{Key: "ok", Value: 1.0})
	return out
}

func (s *Set) replSetGetConfig(i int) bson.D {
	sn := s.snap()
	if sn.sc.Members[i].State == Removed {
		return removedError()
	}
	old := sn.sc.Version == "4.4"
	var members bson.A
	for j, m := range sn.sc.Members {
		d := bson.D{
			{Key: "_id", Value: int32(j)},
			{Key: "host", Value: sn.addrs[j]},
			{Key: "arbiterOnly", Value: m.State == Arbiter},
			{Key: "buildIndexes", Value: true},
			{Key: "hidden", Value: m.Hidden},
			{Key: "priority", Value: m.priority()},
			{Key: "tags", Value: bson.D{}},
		}
		if old {
			d = append(d, bson.E{Key: "slaveDelay", Value: int64(m.Delay / time.Second)})
		} else {
			d = append(d, bson.E{Key: "secondaryDelaySecs", Value: int64(m.Delay / time.Second)})
		}
		d = append(d, bson.E{Key: "votes", Value: m.votes()})
		members = append(members, d)
	}
	return bson.D{{Key: "config", Value: bson.D{
		{Key: "_id", Value: sn.sc.SetName},
		{Key: "version", Value: int32(3)},
		{Key: "term", Value: sn.maxTerm()},
		{Key: "protocolVersion", Value: int64(1)},
		{Key: "members", Value: members},
	}}, {Key: "ok", Value: 1.0}}
}

// find answers queries on local.oplog.rs with the first ({$natural: 1})
// or last ({$natural: -1}) entry of the member's oplog.
func (s *Set) find(i int, cmd bson.Raw) bson.D {
	sn := s.snap()
	coll, _ := cmd.Lookup("find").StringValueOK()
	db, _ := cmd.Lookup("$db").StringValueOK()
	ns := db + "." + coll
	m := sn.sc.Members[i]
	batch := bson.A{}
	if ns == "local.oplog.rs" && m.State != Arbiter {
		window := m.OplogWindow
		if window == 0 {
			window = 48 * time.Hour
		}
		last := sn.optime(i)
		first := last.Add(-window)
		at := first
		if dir, ok := cmd.Lookup("sort", "$natural").AsInt64OK(); ok && dir < 0 {
			at = last
		}
		batch = append(batch, bson.D{
			{Key: "op", Value: "n"}, {Key: "ns", Value: ""},
			{Key: "o", Value: bson.D{{Key: "msg", Value: "periodic noop"}}},
			{Key: "ts", Value: ts(at)}, {Key: "t", Value: sn.maxTerm()}, {Key: "v", Value: int64(2)},
			{Key: "wall", Value: primitive.NewDateTimeFromTime(at)},
		})
	}
	return bson.D{{Key: "cursor", Value: bson.D{
		{Key: "firstBatch", Value: batch},
		{Key: "id", Value: int64(0)},
		{Key: "ns", Value: ns},
	}}, {Key: "ok", Value: 1.0}}
}

// removedError is what a member that is not in the configuration answers
// the replica-set commands with.
func removedError() bson.D {
	return cmdError(93, "InvalidReplicaSetConfig", "Our replica set config is invalid or we are not a member of it")
}

func heartbeatError(m Member, addr string) string {
	if m.Hang {
		return "Couldn't get a connection within the time limit of 10000ms"
	}
	return "Error connecting to " + addr + " :: caused by :: Connection refused"
}
