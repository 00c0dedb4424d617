package mongosim

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// replSetGetStatus answers as member i. Source of every field:
// src/mongo/db/repl/topology_coordinator.cpp, prepareStatusResponse (the
// member documents of self and of the others, with their types: _id,
// state, uptime, syncSourceId and the vote counts int32; configVersion
// and configTerm by appendNumber, int32 when they fit; term, pingMs and
// heartbeatIntervalMillis int64; health a double), member_data.cpp
// (setDownValues: health 0, state DOWN, the heartbeat error as
// lastHeartbeatMessage; setAuthIssue: health 0, state UNKNOWN, the
// message cleared, and "authenticated": false is written only then), and the
// MongoDB manual, replSetGetStatus (per-version examples and fields:
// electionCandidateMetrics on a primary and initialSyncStatus on a member
// in initial sync from 4.2.1).
func (s *Set) replSetGetStatus(i int) bson.D {
	sn := s.snap()
	self := sn.sc.Members[i]
	if self.State == Removed {
		return removedError()
	}
	v := sn.ver
	term := sn.maxTerm()
	var members bson.A
	var voting, writableVoting int32
	for j, m := range sn.sc.Members {
		voting += m.votes()
		if m.State != Arbiter {
			writableVoting += m.votes()
		}
		if j == i {
			members = append(members, sn.selfStatus(i, term))
		} else {
			members = append(members, sn.memberStatus(j, term))
		}
	}
	src, srcID := sn.syncSource(i)
	out := bson.D{
		{Key: "set", Value: sn.sc.SetName},
		{Key: "date", Value: date(sn.now)},
		{Key: "myState", Value: int32(self.State)},
		{Key: "term", Value: term},
	}
	if v.syncingTo {
		out = append(out, bson.E{Key: "syncingTo", Value: src})
	}
	out = append(out,
		bson.E{Key: "syncSourceHost", Value: src},
		bson.E{Key: "syncSourceId", Value: srcID},
		bson.E{Key: "heartbeatIntervalMillis", Value: int64(2000)},
		bson.E{Key: "majorityVoteCount", Value: voting/2 + 1},
		bson.E{Key: "writeMajorityCount", Value: writableVoting/2 + 1})
	if v.since44 {
		out = append(out,
			bson.E{Key: "votingMembersCount", Value: voting},
			bson.E{Key: "writableVotingMembersCount", Value: writableVoting})
	}
	applied, appliedAt := nullOpTime(), epoch
	if self.hasOptime() {
		appliedAt = sn.optime(i)
		applied = opTime(appliedAt, term)
	}
	optimes := bson.D{
		{Key: "lastCommittedOpTime", Value: applied},
		{Key: "lastCommittedWallTime", Value: date(appliedAt)},
		{Key: "readConcernMajorityOpTime", Value: applied},
		{Key: "readConcernMajorityWallTime", Value: date(appliedAt)},
		{Key: "appliedOpTime", Value: applied},
		{Key: "durableOpTime", Value: applied},
	}
	if v.since80 {
		optimes = append(optimes, bson.E{Key: "writtenOpTime", Value: applied})
	}
	optimes = append(optimes,
		bson.E{Key: "lastAppliedWallTime", Value: date(appliedAt)},
		bson.E{Key: "lastDurableWallTime", Value: date(appliedAt)})
	if v.since80 {
		optimes = append(optimes, bson.E{Key: "lastWrittenWallTime", Value: date(appliedAt)})
	}
	out = append(out, bson.E{Key: "optimes", Value: optimes})
	if self.hasOptime() {
		out = append(out, bson.E{Key: "lastStableRecoveryTimestamp", Value: ts(appliedAt.Add(-10 * time.Second))})
	}
	if self.State == Primary {
		out = append(out, bson.E{Key: "electionCandidateMetrics", Value: sn.electionCandidateMetrics(i, term)})
	}
	if self.State == Startup2 {
		out = append(out, bson.E{Key: "initialSyncStatus", Value: sn.initialSyncStatus(i)})
	}
	return append(out, bson.E{Key: "members", Value: members}, bson.E{Key: "ok", Value: 1.0})
}

// selfStatus is the member document of the member answering.
func (sn snapshot) selfStatus(i int, term int64) bson.D {
	m := sn.sc.Members[i]
	d := bson.D{
		{Key: "_id", Value: int32(i)},
		{Key: "name", Value: sn.addrs[i]},
		{Key: "health", Value: 1.0},
		{Key: "state", Value: int32(m.State)},
		{Key: "stateStr", Value: m.State.String()},
		{Key: "uptime", Value: sn.uptime},
	}
	if m.State != Arbiter {
		d = append(d, sn.optimeFields(i, term, false)...)
	}
	src, srcID := sn.syncSource(i)
	if sn.ver.syncingTo {
		d = append(d, bson.E{Key: "syncingTo", Value: src})
	}
	d = append(d, bson.E{Key: "syncSourceHost", Value: src}, bson.E{Key: "syncSourceId", Value: srcID},
		bson.E{Key: "infoMessage", Value: ""})
	if m.State == Primary {
		et := sn.now.Add(-time.Hour)
		d = append(d, bson.E{Key: "electionTime", Value: ts(et)}, bson.E{Key: "electionDate", Value: date(et)})
	}
	d = append(d, bson.E{Key: "configVersion", Value: int32(3)})
	if sn.ver.since44 {
		// appendNumber of a long long: an int32 when it fits
		// (bsonobjbuilder.h), as configVersion.
		d = append(d, bson.E{Key: "configTerm", Value: int32(term)})
	}
	return append(d, bson.E{Key: "self", Value: true}, bson.E{Key: "lastHeartbeatMessage", Value: ""})
}

// memberStatus is the document of another member, as the heartbeats
// describe it.
func (sn snapshot) memberStatus(j int, term int64) bson.D {
	m := sn.sc.Members[j]
	hbSent := sn.now.Add(-sn.sc.HeartbeatAge)
	// The other member's heartbeat request arrives on its own schedule.
	hbRecv := hbSent.Add(-700 * time.Millisecond)
	d := bson.D{{Key: "_id", Value: int32(j)}, {Key: "name", Value: sn.addrs[j]}}
	if m.unhealthy() {
		// setDownValues: DOWN with the network error as the message;
		// setAuthIssue: UNKNOWN, authenticated false, and the message
		// cleared (member_data.cpp: _lastHeartbeatMessage.clear(), and
		// the emptied _lastResponse carries none), so "" here.
		state, msg := Down, heartbeatError(m, sn.addrs[j])
		if !m.down() {
			state, msg = Unknown, ""
		}
		d = append(d, bson.E{Key: "health", Value: 0.0}, bson.E{Key: "state", Value: int32(state)},
			bson.E{Key: "stateStr", Value: "(not reachable/healthy)"}, bson.E{Key: "uptime", Value: int32(0)})
		if m.State != Arbiter {
			// The optimes come from the last heartbeat response,
			// which setDownValues and setAuthIssue replace with an
			// empty one (null optimes, 1970 dates); the wall times
			// come from MemberData's _lastAppliedWallTime and
			// _lastDurableWallTime, which "don't get cleared merely
			// by missing a heartbeat" (member_data.cpp;
			// topology_coordinator.cpp prepareStatusResponse:
			// getHeartbeatAppliedOpTime for optime,
			// getLastAppliedWallTime for lastAppliedWallTime): the
			// time the member last applied, as last heard.
			last := epoch
			if m.hasOptime() {
				last = sn.optime(j)
			}
			d = append(d, sn.nullOptimeFields(last)...)
		}
		d = append(d,
			bson.E{Key: "lastHeartbeat", Value: date(hbSent)},
			bson.E{Key: "lastHeartbeatRecv", Value: date(epoch)},
			bson.E{Key: "pingMs", Value: int64(0)},
			bson.E{Key: "lastHeartbeatMessage", Value: msg})
		if state == Unknown {
			d = append(d, bson.E{Key: "authenticated", Value: false})
		}
		return sn.memberTail(d, j, term, true)
	}
	d = append(d, bson.E{Key: "health", Value: 1.0}, bson.E{Key: "state", Value: int32(m.State)},
		bson.E{Key: "stateStr", Value: m.State.String()}, bson.E{Key: "uptime", Value: sn.uptime - 60})
	if m.State != Arbiter {
		d = append(d, sn.optimeFields(j, term, true)...)
	}
	d = append(d,
		bson.E{Key: "lastHeartbeat", Value: date(hbSent)},
		bson.E{Key: "lastHeartbeatRecv", Value: date(hbRecv)},
		bson.E{Key: "pingMs", Value: int64(0)},
		bson.E{Key: "lastHeartbeatMessage", Value: ""})
	return sn.memberTail(d, j, term, false)
}

// memberTail appends the sync source, election and configuration fields
// of another member.
func (sn snapshot) memberTail(d bson.D, j int, term int64, unreachable bool) bson.D {
	m := sn.sc.Members[j]
	src, srcID := "", int32(-1)
	if !unreachable {
		src, srcID = sn.syncSource(j)
	}
	if sn.ver.syncingTo {
		d = append(d, bson.E{Key: "syncingTo", Value: src})
	}
	d = append(d, bson.E{Key: "syncSourceHost", Value: src}, bson.E{Key: "syncSourceId", Value: srcID},
		bson.E{Key: "infoMessage", Value: ""})
	if m.State == Primary && !unreachable {
		et := sn.now.Add(-time.Hour)
		d = append(d, bson.E{Key: "electionTime", Value: ts(et)}, bson.E{Key: "electionDate", Value: date(et)})
	}
	cv, ct := int32(3), int32(term)
	if unreachable {
		// Nothing heard from it: no configuration version known.
		cv, ct = -1, -1
	}
	d = append(d, bson.E{Key: "configVersion", Value: cv})
	if sn.ver.since44 {
		d = append(d, bson.E{Key: "configTerm", Value: ct})
	}
	return d
}

// optimeFields are a data-bearing member's optimes; durable (the other
// members' documents) adds optimeDurable.
func (sn snapshot) optimeFields(j int, term int64, durable bool) bson.D {
	if !sn.sc.Members[j].hasOptime() {
		return sn.nullOptimeFields(epoch)
	}
	op := sn.optime(j)
	d := bson.D{{Key: "optime", Value: opTime(op, term)}}
	if durable {
		d = append(d, bson.E{Key: "optimeDurable", Value: opTime(op, term)})
	}
	if sn.ver.since80 {
		d = append(d, bson.E{Key: "optimeWritten", Value: opTime(op, term)})
	}
	d = append(d, bson.E{Key: "optimeDate", Value: date(op)})
	if durable {
		d = append(d, bson.E{Key: "optimeDurableDate", Value: date(op)})
	}
	if sn.ver.since80 {
		d = append(d, bson.E{Key: "optimeWrittenDate", Value: date(op)})
	}
	if sn.ver.since44 {
		d = append(d, bson.E{Key: "lastAppliedWallTime", Value: date(op)}, bson.E{Key: "lastDurableWallTime", Value: date(op)})
		if sn.ver.since80 {
			d = append(d, bson.E{Key: "lastWrittenWallTime", Value: date(op)})
		}
	}
	return d
}

// nullOptimeFields: nothing applied or nothing heard (OpTime() and the
// epoch), with wall, the wall time of the member's last applied (and
// durable, written) operation as far as known, for the 4.4+ fields.
func (sn snapshot) nullOptimeFields(wall time.Time) bson.D {
	d := bson.D{{Key: "optime", Value: nullOpTime()}, {Key: "optimeDurable", Value: nullOpTime()}}
	if sn.ver.since80 {
		d = append(d, bson.E{Key: "optimeWritten", Value: nullOpTime()})
	}
	d = append(d, bson.E{Key: "optimeDate", Value: date(epoch)}, bson.E{Key: "optimeDurableDate", Value: date(epoch)})
	if sn.ver.since80 {
		d = append(d, bson.E{Key: "optimeWrittenDate", Value: date(epoch)})
	}
	if sn.ver.since44 {
		d = append(d, bson.E{Key: "lastAppliedWallTime", Value: date(wall)}, bson.E{Key: "lastDurableWallTime", Value: date(wall)})
		if sn.ver.since80 {
			d = append(d, bson.E{Key: "lastWrittenWallTime", Value: date(wall)})
		}
	}
	return d
}

// electionCandidateMetrics of the primary (manual, replSetGetStatus,
// "electionCandidateMetrics", 4.2.1+; repl/election_reason_counter and
// ReplicationMetrics::getElectionCandidateMetricsBSON).
func (sn snapshot) electionCandidateMetrics(i int, term int64) bson.D {
	et := sn.now.Add(-time.Hour)
	op := opTime(et, term-1)
	if term <= 1 {
		op = nullOpTime()
	}
	return bson.D{
		{Key: "lastElectionReason", Value: "electionTimeout"},
		{Key: "lastElectionDate", Value: date(et)},
		{Key: "electionTerm", Value: term},
		{Key: "lastCommittedOpTimeAtElection", Value: op},
		{Key: "lastSeenOpTimeAtElection", Value: op},
		{Key: "numVotesNeeded", Value: int32(len(sn.sc.Members)/2 + 1)},
		{Key: "priorityAtElection", Value: sn.sc.Members[i].priority()},
		{Key: "electionTimeoutMillis", Value: int64(10000)},
		{Key: "newTermStartDate", Value: date(et.Add(time.Second))},
		{Key: "wMajorityWriteAvailabilityDate", Value: date(et.Add(2 * time.Second))},
	}
}

// initialSyncStatus of a member in STARTUP2 (manual, replSetGetStatus,
// "initialSyncStatus": failedInitialSyncAttempts,
// maxFailedInitialSyncAttempts, initialSyncStart, initialSyncAttempts
// with durationMillis, status, syncSource, and from 4.4 rollBackId,
// operationsRetried, totalTimeUnreachableMillis; repl/initial_syncer.cpp
// _appendInitialSyncProgressMinimal_inlock).
func (sn snapshot) initialSyncStatus(i int) bson.D {
	is := sn.sc.Members[i].InitialSync
	if is == nil {
		is = &InitialSync{}
	}
	maxFailed := is.MaxFailed
	if maxFailed == 0 {
		maxFailed = 10
	}
	started := is.Started
	if started == 0 {
		started = time.Hour
	}
	src, _ := sn.syncSource(i)
	attempts := bson.A{}
	for _, status := range is.Failed {
		a := bson.D{{Key: "durationMillis", Value: int32(95000)}, {Key: "status", Value: status}, {Key: "syncSource", Value: src}}
		if sn.ver.since44 {
			a = append(a, bson.E{Key: "rollBackId", Value: int32(1)}, bson.E{Key: "operationsRetried", Value: int64(3)},
				bson.E{Key: "totalTimeUnreachableMillis", Value: int64(30000)})
		}
		attempts = append(attempts, a)
	}
	return bson.D{
		{Key: "failedInitialSyncAttempts", Value: int32(len(is.Failed))},
		{Key: "maxFailedInitialSyncAttempts", Value: int32(maxFailed)},
		{Key: "initialSyncStart", Value: date(sn.now.Add(-started))},
		{Key: "initialSyncAttempts", Value: attempts},
		{Key: "appliedOps", Value: int32(0)},
	}
}

// removedError is what a member that is not in the configuration answers
// the replica-set commands with (ReplicationCoordinatorImpl: "Our replica
// set config is invalid or we are not a member of it").
func removedError() bson.D {
	return CommandError(codes.InvalidReplicaSetConfig, "Our replica set config is invalid or we are not a member of it")
}

// heartbeatError is the lastHeartbeatMessage of a member the heartbeats
// do not reach (the network error mongod's heartbeat reports).
func heartbeatError(m Member, addr string) string {
	if m.Hang {
		return "Couldn't get a connection within the time limit of 10000ms"
	}
	return "Error connecting to " + addr + " :: caused by :: Connection refused"
}
