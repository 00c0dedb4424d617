package mongodb

import (
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo/address"
	"go.mongodb.org/mongo-driver/mongo/description"
)

func connAddr(id string) string {
	if i := strings.LastIndex(id, "[-"); i >= 0 {
		return id[:i]
	}
	return id
}

func (s *Session) heartbeatSucceeded(*event.ServerHeartbeatSucceededEvent) {
	s.mu.Lock()
	s.healthy = true
	s.mu.Unlock()
}

func (s *Session) heartbeatFailed(e *event.ServerHeartbeatFailedEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = map[string]error{}
	}
	s.failed[connAddr(e.ConnectionID)] = e.Failure
	if !s.healthy && s.seeds > 0 && len(s.failed) >= s.seeds && s.cancel != nil {
		s.cancel(&connectError{err: e.Failure})
	}
}

// serverChanged remembers the set each host reports, to explain a
// topology that ends up empty, and whether a mongos answered (whose
// commands wait on its config servers: waitedFor).
func (s *Session) serverChanged(e *event.ServerDescriptionChangedEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.NewDescription.Kind == description.Mongos {
		s.mongos = true
	}
	if e.NewDescription.SetName == "" {
		return
	}
	if s.setNames == nil {
		s.setNames = map[string]string{}
	}
	s.setNames[e.Address.String()] = e.NewDescription.SetName
}

// topologyChanged tells waitSettled when the topology has settled, and
// stops the wait when the driver removed every host from the topology:
// they all belong to another replica set than the one asked for, which
// waiting will not change.
func (s *Session) topologyChanged(e *event.TopologyDescriptionChangedEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.settled:
	default:
		if topologySettled(e.NewDescription) {
			close(s.settled)
		}
	}
	if len(e.NewDescription.Servers) > 0 || len(e.PreviousDescription.Servers) == 0 || s.cancel == nil {
		return
	}
	var seen []string
	for addr, set := range s.setNames {
		seen = append(seen, fmt.Sprintf("%s reports set %q", addr, set))
	}
	sort.Strings(seen)
	why := "no host answered as a member"
	if len(seen) > 0 {
		why = strings.Join(seen, ", ")
	}
	s.cancel(&connectError{err: fmt.Errorf("none of the hosts belongs to replica set %q (%s), check --replica-set or the replicaSet of the URI", s.ReplicaSet, why)})
}

// connectError is why no server could be reached.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// topologySettled reports whether the driver can no longer remove a member a
// command is sent to, as far as what the members said so far tells.
//
// Why (driver v1.17.10, x/mongo/driver/topology): in a replica set the
// driver keeps only the members the primary's hello lists (hosts,
// passives, arbiters: fsm.updateRSFromPrimary), and mongod leaves hidden
// and delayed members out of those lists. A seed that is such a member is
// selectable from its own hello (a SECONDARY, fsm.updateRSWithoutPrimary)
// until the primary's hello arrives; then Topology.apply disconnects it
// with a cancelled context, and pool.close closes its connections in use,
// stops the ones being made and refuses check-outs. A command sent to it
// meanwhile fails ("use of closed network connection", "connection
// closed", "operation was canceled", "closed connection pool"), whatever
// the command. Hellos of members are applied only while the driver still
// holds the member (Topology.apply), so a removed member never returns.
//
// So commands wait until one of these holds:
//   - the topology has a primary (ReplicaSetWithPrimary): the removal has
//     happened, and every member left is one the primary lists;
//   - every member has been checked once (answered or failed): nothing
//     said so far is pending;
//   - a member answered, and none that answered names as primary a member
//     not yet checked: the only hello that removes members is a
//     primary's, and no one knows of a primary still to come. This spares
//     the wait for a member that hangs (its first check ends only with
//     -t) when no one calls it primary.
//
// A named primary that hangs is waited for only until primaryBy
// (waitSettled). Direct connections (Single), mongos (Sharded: members
// are removed only when they stop answering as mongos) and load balancers
// never remove a server a command can be sent to.
func topologySettled(d description.Topology) bool {
	switch d.Kind {
	case description.ReplicaSetWithPrimary, description.Single, description.Sharded, description.LoadBalanced:
		return true
	}
	// A server not checked yet has the driver's initial description:
	// Unknown without an error (description.NewDefaultServer); a failed
	// check leaves Unknown with the error.
	unchecked := map[address.Address]bool{}
	answered := false
	for _, srv := range d.Servers {
		switch {
		case srv.Kind == description.Unknown && srv.LastError == nil:
			unchecked[srv.Addr] = true
		case srv.Kind != description.Unknown:
			answered = true
		}
	}
	if len(unchecked) == 0 {
		return true
	}
	if !answered {
		return false
	}
	for _, srv := range d.Servers {
		if srv.Primary != "" && unchecked[srv.Primary.Canonicalize()] {
			return false
		}
	}
	return true
}
