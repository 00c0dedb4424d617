package mongodb

import (
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/event"
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
// topology that ends up empty.
func (s *Session) serverChanged(e *event.ServerDescriptionChangedEvent) {
	if e.NewDescription.SetName == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setNames == nil {
		s.setNames = map[string]string{}
	}
	s.setNames[e.Address.String()] = e.NewDescription.SetName
}

// topologyChanged stops the wait when the driver removed every host from
// the topology: they all belong to another replica set than the one asked
// for, which waiting will not change.
func (s *Session) topologyChanged(e *event.TopologyDescriptionChangedEvent) {
	if len(e.NewDescription.Servers) > 0 || len(e.PreviousDescription.Servers) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
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
	s.cancel(&connectError{err: fmt.Errorf("none of the hosts belongs to replica set %q (%s); check --replica-set or the replicaSet of the URI", s.ReplicaSet, why)})
}

// connectError is why no server could be reached.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }
