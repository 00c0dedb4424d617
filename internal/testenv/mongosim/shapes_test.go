package mongosim

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// TestShapesPerVersion pins what each version writes and leaves out (the
// sources are named in versions.go and next to each document).
func TestShapesPerVersion(t *testing.T) {
	sc := Scenario{Members: []Member{
		{State: Primary},
		{State: Secondary, Lag: 3 * time.Second},
		{State: Secondary, Delay: time.Hour, Lag: time.Hour},
		{State: Secondary, Hidden: true},
		{State: Arbiter},
		{State: Secondary, Priority: new(float64)},
		{State: Secondary, Unreachable: true, Lag: 90 * time.Second},
		{State: Secondary, AuthFailed: true},
		{State: Startup2},
	}}
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			sc.Version = v
			set := Start(t, sc)
			ver := versions[v]
			st := mustDoc(set.replSetGetStatus(0))
			members, _ := st.Lookup("members").Array().Values()
			m := func(i int) bson.Raw { return members[i].Document() }
			has := func(d bson.Raw, key string) bool { _, err := d.LookupErr(key); return err == nil }
			want := func(what string, got, want bool) {
				t.Helper()
				if got != want {
					t.Errorf("%s: %v, want %v", what, got, want)
				}
			}
			want("syncingTo (until 4.2)", has(m(1), "syncingTo"), ver.syncingTo)
			want("votingMembersCount (4.4+)", has(st, "votingMembersCount"), ver.since44)
			want("majorityVoteCount", has(st, "majorityVoteCount"), true)
			want("configTerm (4.4+)", has(m(1), "configTerm"), ver.since44)
			want("optimeWritten (8.0)", has(m(1), "optimeWritten"), ver.since80)
			want("no delay in status", has(m(2), "secondaryDelaySecs") || has(m(2), "slaveDelay"), false)
			want("electionCandidateMetrics on the primary", has(st, "electionCandidateMetrics"), true)
			want("DOWN: no authenticated", has(m(6), "authenticated"), false)
			want("DOWN: state 8", m(6).Lookup("state").Int32() == 8 && m(6).Lookup("health").Double() == 0, true)
			want("auth failure: state 6, authenticated false", m(7).Lookup("state").Int32() == 6 && !m(7).Lookup("authenticated").Boolean(), true)
			want("auth failure: lastHeartbeatMessage cleared", m(7).Lookup("lastHeartbeatMessage").StringValue() == "", true)
			want("DOWN: the heartbeat error as lastHeartbeatMessage", m(6).Lookup("lastHeartbeatMessage").StringValue() != "", true)
			want("healthy: no authenticated", has(m(1), "authenticated"), false)
			want("lastHeartbeat != lastHeartbeatRecv", m(1).Lookup("lastHeartbeat").DateTime() != m(1).Lookup("lastHeartbeatRecv").DateTime(), true)
			t2, _ := m(8).Lookup("optime", "ts").Timestamp()
			want("STARTUP2: optime 0, term -1, 1970", t2 == 0 && m(8).Lookup("optime", "t").Int64() == -1 && m(8).Lookup("optimeDate").DateTime() == 0, true)
			// DOWN and authentication-failed members: the optimes of the
			// emptied heartbeat response are null, the wall times the
			// last known (member_data.cpp setDownValues/setAuthIssue keep
			// _lastAppliedWallTime; 4.4+ only).
			for _, i := range []int{6, 7} {
				ts, _ := m(i).Lookup("optime", "ts").Timestamp()
				want("unreachable: optime 0, 1970", ts == 0 && m(i).Lookup("optimeDate").DateTime() == 0, true)
				want("unreachable: lastAppliedWallTime (4.4+)", has(m(i), "lastAppliedWallTime"), ver.since44)
				want("unreachable: lastWrittenWallTime (8.0)", has(m(i), "lastWrittenWallTime"), ver.since80)
				last := m(0).Lookup("optimeDate").DateTime() - 90000*int64(7-i)
				for _, k := range []string{"lastAppliedWallTime", "lastDurableWallTime", "lastWrittenWallTime"} {
					if has(m(i), k) {
						want("unreachable: "+k+" the last known, not 1970", m(i).Lookup(k).DateTime() == last, true)
					}
				}
			}
			for _, k := range []string{"_id", "state", "uptime", "configVersion", "syncSourceId"} {
				want(k+" int32", m(1).Lookup(k).Type == bson.TypeInt32, true)
			}
			for _, k := range []string{"pingMs"} {
				want(k+" int64", m(1).Lookup(k).Type == bson.TypeInt64, true)
			}
			want("term int64", st.Lookup("term").Type == bson.TypeInt64, true)
			want("health double", m(1).Lookup("health").Type == bson.TypeDouble && m(6).Lookup("health").Type == bson.TypeDouble, true)
			if ver.since44 {
				for _, d := range []bson.Raw{m(0), m(1), m(6)} {
					want("configTerm int32", d.Lookup("configTerm").Type == bson.TypeInt32, true)
				}
			}

			self8 := mustDoc(set.replSetGetStatus(8))
			want("initialSyncStatus on the member in initial sync", has(self8, "initialSyncStatus"), true)
			want("no initialSyncStatus elsewhere", has(st, "initialSyncStatus"), false)

			cfg := mustDoc(set.replSetGetConfig(0)).Lookup("config").Document()
			cm, _ := cfg.Lookup("members").Array().Values()
			want("secondaryDelaySecs (5.0+)", has(cm[2].Document(), "secondaryDelaySecs"), ver.since50)
			want("slaveDelay (until 4.4)", has(cm[2].Document(), "slaveDelay"), !ver.since50)
			if ver.since44 {
				want("config term int32", cfg.Lookup("term").Type == bson.TypeInt32, true)
			}
			want("config version int32", cfg.Lookup("version").Type == bson.TypeInt32, true)
			want("config protocolVersion int64", cfg.Lookup("protocolVersion").Type == bson.TypeInt64, true)
			_, isOID := cfg.Lookup("settings", "replicaSetId").ObjectIDOK()
			want("settings.replicaSetId", isOID, true)

			h := mustDoc(set.hello(0, &Request{Name: "hello", Cmd: mustDoc(bson.D{{Key: "hello", Value: 1}})}))
			list := func(key string) map[string]bool {
				out := map[string]bool{}
				if a, ok := h.Lookup(key).ArrayOK(); ok {
					vs, _ := a.Values()
					for _, v := range vs {
						out[v.StringValue()] = true
					}
				}
				return out
			}
			hosts, passives, arbiters := list("hosts"), list("passives"), list("arbiters")
			want("delayed member absent from hello", hosts[set.Addr(2)] || passives[set.Addr(2)], false)
			want("hidden member absent from hello", hosts[set.Addr(3)] || passives[set.Addr(3)], false)
			want("arbiter under arbiters", arbiters[set.Addr(4)], true)
			want("priority 0 under passives", passives[set.Addr(5)], true)
			want("topologyVersion (4.4+)", has(h, "topologyVersion"), ver.since44)
			want("maxWireVersion", h.Lookup("maxWireVersion").Int32() == ver.wire, true)
			hd := mustDoc(set.hello(2, &Request{Name: "hello", Cmd: mustDoc(bson.D{{Key: "hello", Value: 1}})}))
			want("the delayed member's own delay in hello", has(hd, "secondaryDelaySecs") == ver.since50 && has(hd, "slaveDelay") == !ver.since50, true)
		})
	}
}
