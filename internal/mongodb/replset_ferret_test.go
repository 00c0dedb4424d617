package mongodb_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/testenv"
)

// The replica-set modes against a real third-party server that speaks
// the protocol but has no replSetGetStatus and no capped oplog: each
// mode must say so on one UNKNOWN line instead of crashing or passing.
func TestReplsetModesOnFerretDB(t *testing.T) {
	for _, tc := range []struct {
		replSet, mode string
		code          int
		text          string
	}{
		{"", "replication-lag", 3, "does not know replSetGetStatus: (CommandNotFound) no such command"},
		{"", "replication-lag-percent", 3, "does not know replSetGetStatus"},
		{"", "replset-state", 3, "need a mongod replica-set member"},
		{"", "primary-change", 3, "is not a replica-set member (hello has no setName)"},
		{"", "oplog-window", 3, "find on local.oplog.rs failed: (NotImplemented)"},
		{"rs0", "replset-state", 3, "does not know replSetGetStatus"},
		{"rs0", "primary-change", 0, "rs0 via 127.0.0.1:{port} (PRIMARY): primary is 127.0.0.1:{port} (first run, remembered)"},
	} {
		t.Run(tc.replSet+"/"+tc.mode, func(t *testing.T) {
			f := testenv.StartFerretDB(t, testenv.FerretDBOptions{ReplSetName: tc.replSet})
			r := rsRun(t, nil, "-H", "127.0.0.1", "-P", strconv.Itoa(f.Port), "--mode", tc.mode, "--state-dir", t.TempDir())
			rsWant(t, r, tc.code, strings.ReplaceAll(tc.text, "{port}", strconv.Itoa(f.Port)))
			if tc.code == 3 && strings.Count(r.Stdout, "\n") != 1 {
				t.Fatalf("UNKNOWN with more than one line: %q", r.Stdout)
			}
		})
	}
}
