// Package replset holds what check_mongodb's replica-set modes know about
// a replica set, without any I/O: the documents mongod answers with,
// decoded (gather happens in package mongodb, which runs the commands),
// and the verdicts, pure functions of those documents and the options.
//
// Files:
//   - state.go: member states (State, from src/mongo/db/repl/member_state.h);
//   - status.go: replSetGetStatus decoded into Status and Member, with
//     initialSyncStatus; config.go: replSetGetConfig merged into it;
//     hello.go: hello decoded, and what it says about members when the
//     configuration cannot be read;
//   - oplog.go: oplog entries and the oplog window, and its verdict;
//   - member.go: one member's verdict, label and fix hints;
//   - lag.go: the replication-lag and replication-lag-percent verdicts;
//   - health.go: the replset-state verdict (states, primaries, majority);
//   - primary.go: the primary-change verdict and the state it keeps.
package replset
