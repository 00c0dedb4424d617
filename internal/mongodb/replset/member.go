package replset

import (
	"fmt"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// DelayUnknown: the member may have a secondary delay the check cannot
// know, because hello leaves it out (hidden or delayed) and the
// configuration could not be read.
func (m *Member) DelayUnknown() bool { return !m.Configured && m.Unlisted }

// Label describes a member for texts: its name plus what is special
// about it, as far as the check knows.
func (m *Member) Label() string {
	var attrs []string
	if m.Self {
		attrs = append(attrs, "connected")
	}
	if m.Hidden {
		attrs = append(attrs, "hidden")
	}
	if m.Delay > 0 {
		attrs = append(attrs, fmt.Sprintf("delayed %s", Secs(m.Delay)))
	}
	if m.DelayUnknown() {
		attrs = append(attrs, "hidden or delayed: not listed by hello")
	}
	if len(attrs) == 0 {
		return m.Name
	}
	return m.Name + " (" + strings.Join(attrs, ", ") + ")"
}

// Secs formats a duration in whole seconds: "120 s".
func Secs(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) }

// Hints for the member verdicts (README, "check_mongodb: replica-set
// modes", Fix hints).
const (
	hintUnreachable = "the member does not answer heartbeats: check that mongod runs on it and that the members can reach each other"
	hintAuth        = "the members reject each other's internal authentication: the keyFile (security.keyFile) must hold the same key on every member, or with x.509 membership (security.clusterAuthMode) each member's certificate must be trusted by the others' CA and carry the same O/OU/DC"
	hintStarting    = "the member is starting or in initial sync; it serves no reads and is no failover target until it reaches SECONDARY (watch its log)"
	hintRestarting  = "the initial sync keeps failing and starting over: look at the network path to its sync source; a NAT box, load balancer or firewall that drops idle or long connections resets the copy (compare tcp_keepalive_time with the device's idle timeout: check_keepalive), and a member that fails maxFailedInitialSyncAttempts times shuts down"
)

// stateText is the state, marked unreachable when health is 0, with the
// heartbeat message then.
func (m *Member) stateText() string {
	s := m.State.String()
	if m.Health < 1 {
		s += ", unreachable"
		if m.Message != "" {
			s += " (" + m.Message + ")"
		}
	}
	return s
}

// Verdict is a member's state as the replica-set modes report it, with
// the reason and a fix hint; is is the initial sync the member reported
// about itself (nil when the check did not ask it).
func (m *Member) Verdict(is *InitialSync) (plugin.State, string, string) {
	if m.Arbiter || m.State == Arbiter {
		if !m.Healthy() || m.State != Arbiter {
			hint := "the arbiter's vote is missing: restart it or fix its network path, else one more failure can leave the set without a majority"
			if m.AuthFailed {
				hint = hintAuth
			}
			return plugin.Warning, fmt.Sprintf("arbiter %s is %s", m.Name, m.stateText()), hint
		}
		return plugin.OK, fmt.Sprintf("arbiter %s is ARBITER", m.Name), ""
	}
	if m.AuthFailed {
		return plugin.Warning, fmt.Sprintf("%s is %s, its heartbeats fail authentication", m.Label(), m.stateText()), hintAuth
	}
	if m.Health < 1 && m.State != Removed {
		return plugin.Warning, fmt.Sprintf("%s is %s", m.Label(), m.stateText()), hintUnreachable
	}
	switch m.State {
	case Primary, Secondary:
		return plugin.OK, fmt.Sprintf("%s is %s", m.Label(), m.State), ""
	case Startup2:
		if is != nil && is.Failed > 0 {
			last := is.LastStatus
			if is.LastSource != "" {
				last += " (sync source " + is.LastSource + ")"
			}
			return plugin.Warning, fmt.Sprintf("%s is STARTUP2: initial sync restarted, %d of at most %d attempts failed, last failure: %s",
				m.Label(), is.Failed, is.MaxFailed, plugin.Clip(last, 300)), hintRestarting
		}
		return plugin.Warning, fmt.Sprintf("%s is STARTUP2", m.Label()), hintStarting
	case Startup:
		return plugin.Warning, fmt.Sprintf("%s is STARTUP", m.Label()), hintStarting
	case Recovering:
		return plugin.Warning, fmt.Sprintf("%s is RECOVERING", m.Label()),
			"the member cannot serve reads: if it fell off the oplog (\"too stale to catch up\" in its log) it needs an initial sync; maintenance mode also shows as RECOVERING"
	case Rollback:
		return plugin.Warning, fmt.Sprintf("%s is ROLLBACK", m.Label()),
			"the member is rolling back writes a former primary did not replicate; check the rollback directory for the undone documents"
	case Down, Unknown:
		return plugin.Warning, fmt.Sprintf("%s is %s", m.Label(), m.stateText()), hintUnreachable
	case Removed:
		return plugin.Critical, fmt.Sprintf("%s is REMOVED", m.Label()),
			"the member is not in the replica-set configuration: add it back with rs.add() or stop monitoring it"
	}
	return plugin.Unknown, fmt.Sprintf("%s is in %s", m.Label(), m.State), ""
}

// initialSyncOf is the initial sync status m reported about itself: as
// the answering member, or when the check asked it directly.
func (st *Status) initialSyncOf(m *Member) *InitialSync {
	if m.Self {
		return st.InitialSync
	}
	return st.Others[m.Name]
}
