package mongosim

import (
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
)

// replSetGetConfig answers as member i. Sources: MongoDB manual, "Replica
// Set Configuration" (members[n] fields, slaveDelay until 4.4 and
// secondaryDelaySecs from 5.0, both NumberLong; settings with
// replicaSetId; getLastErrorDefaults until 4.4; term from 4.4) and
// src/mongo/db/repl/repl_set_config.idl (version, term and the settings'
// numbers smallExactInt64: int32 when they fit; protocolVersion
// safeInt64) and member_config.idl (secondaryDelaySecs safeInt64).
func (s *Set) replSetGetConfig(i int) bson.D {
	sn := s.snap()
	if sn.sc.Members[i].State == Removed {
		return removedError()
	}
	if sn.sc.DenyConfig {
		// What mongod answers a user whose roles lack the action
		// (src/mongo/db/commands.cpp, "not authorized on admin to
		// execute command").
		return CommandError(codes.Unauthorized, "not authorized on admin to execute command { replSetGetConfig: 1, $db: \"admin\" }")
	}
	return bson.D{{Key: "config", Value: sn.config()}, {Key: "ok", Value: 1.0}}
}

// config is the replica-set configuration document, also what
// local.system.replset holds.
func (sn snapshot) config() bson.D {
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
		key := "slaveDelay"
		if sn.ver.since50 {
			key = "secondaryDelaySecs"
		}
		d = append(d, bson.E{Key: key, Value: int64(m.Delay / time.Second)}, bson.E{Key: "votes", Value: m.votes()})
		members = append(members, d)
	}
	settings := bson.D{
		{Key: "chainingAllowed", Value: true},
		{Key: "heartbeatIntervalMillis", Value: int32(2000)},
		{Key: "heartbeatTimeoutSecs", Value: int32(10)},
		{Key: "electionTimeoutMillis", Value: int32(10000)},
		{Key: "catchUpTimeoutMillis", Value: int32(-1)},
		{Key: "catchUpTakeoverDelayMillis", Value: int32(30000)},
		{Key: "getLastErrorModes", Value: bson.D{}},
	}
	if !sn.ver.since50 {
		settings = append(settings, bson.E{Key: "getLastErrorDefaults", Value: bson.D{{Key: "w", Value: int32(1)}, {Key: "wtimeout", Value: int32(0)}}})
	}
	settings = append(settings, bson.E{Key: "replicaSetId", Value: sn.setID})
	d := bson.D{{Key: "_id", Value: sn.sc.SetName}, {Key: "version", Value: int32(3)}}
	if sn.ver.since44 {
		// term is a termType: smallExactInt64, "serializes as NumberInt
		// if it fits in an int32" (repl_set_config.idl), as version.
		d = append(d, bson.E{Key: "term", Value: int32(sn.maxTerm())})
	}
	return append(d,
		bson.E{Key: "protocolVersion", Value: int64(1)},
		bson.E{Key: "writeConcernMajorityJournalDefault", Value: true},
		bson.E{Key: "members", Value: members},
		bson.E{Key: "settings", Value: settings})
}
