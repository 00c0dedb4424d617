package mongosim

import (
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// hello answers hello and isMaster as mongod does for a replica-set
// member. Sources: MongoDB manual, "hello" (response fields), and
// src/mongo/db/repl/topology_coordinator.cpp fillHelloForReplSet, which
// lists every configured member except hidden ones and those with a
// secondary delay: arbiters under arbiters, priority-0 members under
// passives, the rest under hosts; and sets passive, hidden, arbiterOnly
// and the delay (secondaryDelaySecs, slaveDelay before 5.0) for the
// member itself. src/mongo/db/repl/hello_response.cpp writes them.
func (s *Set) hello(i int, r *Request) bson.D {
	legacy := strings.EqualFold(r.Name, "isMaster")
	if s.ver.since44 {
		s.awaitHello(r.Cmd)
	}
	sn := s.snap()
	m := sn.sc.Members[i]
	writable := m.State == Primary
	d := bson.D{}
	if legacy {
		d = append(d, bson.E{Key: "ismaster", Value: writable})
	} else {
		d = append(d, bson.E{Key: "isWritablePrimary", Value: writable})
	}
	if _, ok := r.Cmd.Lookup("helloOk").BooleanOK(); ok {
		d = append(d, bson.E{Key: "helloOk", Value: true})
	}
	if sn.ver.since44 {
		d = append(d, bson.E{Key: "topologyVersion", Value: bson.D{{Key: "processId", Value: sn.procIDs[i]}, {Key: "counter", Value: sn.counter}}})
	}
	if m.State == Removed {
		// A member that is not in the configuration it has
		// (ReplicationCoordinatorImpl::fillIsMasterForReplSet).
		d = append(d, bson.E{Key: "secondary", Value: false},
			bson.E{Key: "info", Value: "Does not have a valid replica set config"},
			bson.E{Key: "isreplicaset", Value: true})
	} else {
		var hosts, passives, arbiters bson.A
		for j, o := range sn.sc.Members {
			switch {
			case o.Hidden || o.Delay > 0:
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
		if m.priority() == 0 && m.State != Arbiter {
			d = append(d, bson.E{Key: "passive", Value: true})
		}
		if m.Hidden {
			d = append(d, bson.E{Key: "hidden", Value: true})
		}
		if m.Delay > 0 {
			key := "slaveDelay"
			if sn.ver.since50 {
				key = "secondaryDelaySecs"
			}
			d = append(d, bson.E{Key: key, Value: int32(m.Delay / time.Second)})
		}
		if writable {
			d = append(d, bson.E{Key: "electionId", Value: electionID(m.term())})
		}
		if m.hasOptime() {
			op := sn.optime(i)
			d = append(d, bson.E{Key: "lastWrite", Value: bson.D{
				{Key: "opTime", Value: opTime(op, sn.maxTerm())},
				{Key: "lastWriteDate", Value: date(op)},
				{Key: "majorityOpTime", Value: opTime(op, sn.maxTerm())},
				{Key: "majorityWriteDate", Value: date(op)},
			}})
		}
	}
	return helloEnd(d, r, sn.now, int32(i*1000+1), sn.ver.wire, len(sn.sc.Users) > 0)
}

// awaitHello holds an awaitable hello (topologyVersion + maxAwaitTimeMS,
// 4.4+) until the topology changes, the wait ends or the set stops.
func (s *Set) awaitHello(cmd bson.Raw) {
	ms, ok := cmd.Lookup("maxAwaitTimeMS").AsInt64OK()
	if !ok || ms <= 0 {
		return
	}
	tv, ok := cmd.Lookup("topologyVersion").DocumentOK()
	if !ok {
		return
	}
	s.mu.Lock()
	changed := s.changed
	cur := s.counter.Load()
	s.mu.Unlock()
	if c, ok := tv.Lookup("counter").AsInt64OK(); ok && c != cur {
		return
	}
	tm := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-changed:
	case <-s.closed:
	}
}

// buildInfo answers with the version of the scenario (manual,
// buildInfo: version, versionArray, bits, maxBsonObjectSize).
func (s *Set) buildInfo() bson.D {
	full := s.ver.full
	var arr bson.A
	for _, p := range strings.Split(full, ".") {
		var n int32
		for _, c := range p {
			n = n*10 + int32(c-'0')
		}
		arr = append(arr, n)
	}
	arr = append(arr, int32(0))
	return bson.D{{Key: "version", Value: full}, {Key: "versionArray", Value: arr},
		{Key: "bits", Value: int32(64)}, {Key: "maxBsonObjectSize", Value: int32(16 * 1024 * 1024)},
		{Key: "ok", Value: 1.0}}
}
