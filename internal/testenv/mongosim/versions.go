package mongosim

import (
	"fmt"
	"strings"
)

// version is what a simulated mongod release changes in the documents it
// answers with. Sources, per field:
//   - wire versions: src/mongo/db/wire_version.h (WireVersion enum:
//     SHARDED_TRANSACTIONS = 8 is 4.2, RESUMABLE_INITIAL_SYNC = 9 is 4.4,
//     WIRE_VERSION_50 = 13, WIRE_VERSION_60 = 17, WIRE_VERSION_70 = 21,
//     WIRE_VERSION_80 = 25);
//   - syncingTo next to syncSourceHost until 4.2, removed in 4.4: MongoDB
//     manual, replSetGetStatus (v4.2 and v4.4 pages, "syncingTo");
//   - votingMembersCount, writableVotingMembersCount and members[n].
//     configTerm from 4.4, majorityVoteCount/writeMajorityCount from
//     4.2.1: manual, replSetGetStatus, and src/mongo/db/repl/
//     topology_coordinator.cpp (prepareStatusResponse);
//   - members[n].lastAppliedWallTime/lastDurableWallTime from 4.4:
//     topology_coordinator.cpp (prepareStatusResponse);
//   - topologyVersion in hello from 4.4 (streamable hello): manual, hello
//     command, "topologyVersion"; src/mongo/db/repl/hello_response.cpp;
//   - secondaryDelaySecs replaces slaveDelay in the configuration and in
//     hello from 5.0: manual, "Replica Set Configuration",
//     members[n].secondaryDelaySecs ("Starting in MongoDB 5.0");
//   - getLastErrorDefaults in settings until 4.4 (removed in 5.0): manual,
//     replica set configuration, settings.getLastErrorDefaults;
//   - optimeWritten/optimeWrittenDate per member and optimes.writtenOpTime,
//     lastWrittenWallTime from 8.0: topology_coordinator.cpp of the 8.0
//     branch (prepareStatusResponse, "optimeWritten").
type version struct {
	name, full string
	wire       int32
	// syncingTo: the deprecated name of the sync source is still written.
	syncingTo bool
	// since44: voting counts, configTerm, wall times per member,
	// topologyVersion, config.term, initial sync attempt details.
	since44 bool
	// since50: secondaryDelaySecs instead of slaveDelay, no
	// getLastErrorDefaults.
	since50 bool
	// since80: the written optime next to applied and durable.
	since80 bool
}

var versions = map[string]version{
	"4.2": {name: "4.2", full: "4.2.25", wire: 8, syncingTo: true},
	"4.4": {name: "4.4", full: "4.4.29", wire: 9, since44: true},
	"5.0": {name: "5.0", full: "5.0.30", wire: 13, since44: true, since50: true},
	"6.0": {name: "6.0", full: "6.0.20", wire: 17, since44: true, since50: true},
	"7.0": {name: "7.0", full: "7.0.16", wire: 21, since44: true, since50: true},
	"8.0": {name: "8.0", full: "8.0.4", wire: 25, since44: true, since50: true, since80: true},
}

// Versions lists the server versions the simulator can answer as, oldest
// first.
func Versions() []string { return []string{"4.2", "4.4", "5.0", "6.0", "7.0", "8.0"} }

// lookupVersion resolves a scenario's Version, "" for the newest (8.0),
// to the name it stands for and what that version changes.
func lookupVersion(name string) (string, version, error) {
	if name == "" {
		name = "8.0"
	}
	ver, ok := versions[name]
	if !ok {
		return "", version{}, fmt.Errorf("unknown version %q: expected one of %s", name, strings.Join(Versions(), ", "))
	}
	return name, ver, nil
}
