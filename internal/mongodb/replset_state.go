package mongodb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
)

func init() {
	register("replset-state", Mode{Run: modeReplsetState, Validate: rsNoMember})
	register("primary-change", Mode{Run: modePrimaryChange, Validate: rsNoMember})
}

func modeReplsetState(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	rc, v, err := fetchRepl(ctx, s)
	if err != nil {
		return nil, err
	}
	rc.close(ctx)
	return rsStateResult(v), nil
}

// rsCanVote lists the states in which a member's vote counts in an
// election (MongoDB's documented electable-vote states).
func rsCanVote(m *ReplMember) bool {
	if !m.healthy() || m.Votes <= 0 {
		return false
	}
	switch m.State {
	case rsPrimary, rsSecondary, rsStartup2, rsRecovering, rsArbiter, rsRollback:
		return true
	}
	return false
}

// rsMajority returns the number of voting members and the votes a
// rsMajority needs: from the server when it reports them (4.4+), else
// from the configured votes.
func rsMajority(st *ReplStatus) (voting, need int) {
	for i := range st.Members {
		if st.Members[i].Votes > 0 {
			voting += st.Members[i].Votes
		}
	}
	if st.VotingMembers > 0 {
		voting = st.VotingMembers
	}
	need = voting/2 + 1
	if st.MajorityVoteCount > 0 {
		need = st.MajorityVoteCount
	}
	return voting, need
}

func rsStateResult(v *replView) *plugin.Result {
	st := v.Status
	var r plugin.Result
	counts := map[string]int{}
	healthyVotes := 0
	var primaries []string
	for _, m := range rsSorted(st) {
		if rsCanVote(m) {
			healthyVotes += m.Votes
		}
		if m.State == rsPrimary && m.healthy() {
			primaries = append(primaries, m.Name)
		}
		counts[rsStateName(m.State)]++
		vst, text, hint := rsVerdict(m)
		if m.healthy() && m.State != rsArbiter {
			text += fmt.Sprintf(", health %g", m.Health)
		}
		f := r.Add(vst, text)
		f.Quiet = vst == plugin.OK
		if hint != "" {
			f.Detailf("%s", hint)
		}
	}
	voting, need := rsMajority(st)

	switch len(primaries) {
	case 0:
		r.Add(plugin.Critical, fmt.Sprintf("%s has no PRIMARY", st.Set)).
			Detailf("writes fail until a primary is elected: a majority of voting members (%d of %d) must be up and see each other; look at the members' logs for election errors", need, voting)
	case 1:
	default:
		r.Add(plugin.Critical, fmt.Sprintf("%s has %d PRIMARY members: %s", st.Set, len(primaries), strings.Join(primaries, ", "))).
			Detailf("a network partition: the primary with the older term steps down once it can reach the others; check connectivity between the members, and writes made on the stale side may be rolled back")
	}
	if healthyVotes < need {
		r.Add(plugin.Critical, fmt.Sprintf("only %d of %d voting members are healthy, a majority needs %d", healthyVotes, voting, need)).
			Detailf("without a majority no primary can be elected or stay primary: bring members back, or as a last resort reconfigure with rs.reconfig({force: true}) on a surviving member")
	}

	var parts []string
	for _, n := range []string{"PRIMARY", "SECONDARY", "ARBITER", "STARTUP", "STARTUP2", "RECOVERING", "ROLLBACK", "DOWN", "UNKNOWN", "REMOVED"} {
		if counts[n] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[n], n))
		}
	}
	primary := "no primary"
	if len(primaries) == 1 {
		primary = "primary " + primaries[0]
	}
	hf := r.Add(plugin.OK, fmt.Sprintf("%s: %s; %s; %d/%d voting members healthy (majority %d)",
		rsWhere(st), primary, strings.Join(parts, ", "), healthyVotes, voting, need),
		plugin.Perf{Label: "members", Value: float64(len(st.Members)), Min: plugin.F(0)},
		plugin.Perf{Label: "primaries", Value: float64(len(primaries)), Min: plugin.F(0)},
		plugin.Perf{Label: "voting_members_healthy", Value: float64(healthyVotes), Min: plugin.F(0), Max: plugin.F(float64(voting))},
		plugin.Perf{Label: "majority", Value: float64(need), Min: plugin.F(0)},
	)
	for _, n := range v.Notes {
		hf.Detailf("%s", n)
	}
	return &r
}

// primaryState is what primary-change remembers between runs.
type primaryState struct {
	Set     string    `json:"set"`
	Primary string    `json:"primary"`
	Since   time.Time `json:"since"`
	Seen    time.Time `json:"seen"`
}

func modePrimaryChange(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	// No pinning: hello alone answers, from any member.
	rc, err := openRepl(ctx, s, false)
	if err != nil {
		return nil, err
	}
	h := rc.hello
	if h.SetName == "" {
		return nil, fmt.Errorf("%s is not a replica-set member (hello has no setName): primary-change needs a replica set", s.Target)
	}
	if h.Primary == "" && h.Writable {
		// Servers that report a one-member set (FerretDB with
		// --repl-set-name) may leave out primary and me.
		if h.Me == "" {
			h.Me = s.Target
		}
		h.Primary = h.Me
	}
	var res *plugin.Result
	err = state.Update(o.StateDir, state.Key("check_mongodb", "primary-change", h.SetName), state.Deadline(ctx), func(prev *primaryState, found bool, note string) (next *primaryState) {
		res, next = rsPrimaryChange(h, *prev, found, note, time.Now())
		return next
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rsPrimaryChange compares the primary hello names with the
// previous run's and returns the result and the state to save (nil to
// keep the old one).
func rsPrimaryChange(h *ReplHello, prev primaryState, found bool, note string, now time.Time) (*plugin.Result, *primaryState) {
	var r plugin.Result
	where := rsHelloWhere(h)
	if h.Primary == "" {
		f := r.Add(plugin.Critical, fmt.Sprintf("%s: no primary", where))
		if found && prev.Primary != "" {
			f.Detailf("the last primary seen was %s (at %s)", prev.Primary, prev.Seen.Format(time.RFC3339))
		}
		f.Detailf("run --mode replset-state for the members' states; the state file is kept so the next primary is compared with the last one")
		return &r, nil
	}
	next := &primaryState{Set: h.SetName, Primary: h.Primary, Since: now, Seen: now}
	switch {
	case !found:
		f := r.Add(plugin.OK, fmt.Sprintf("%s: primary is %s (first run, remembered)", where, h.Primary))
		if note != "" {
			f.Detailf("%s", note)
		}
	case prev.Primary != h.Primary:
		r.Add(plugin.Warning, fmt.Sprintf("%s: primary changed from %s to %s", where, prev.Primary, h.Primary)).
			Detailf("%s was primary since %s; look at the old primary's log for why it stepped down (crash, network loss, rs.stepDown(), a priority change). The next run is OK again if the primary stays", prev.Primary, prev.Since.Format(time.RFC3339))
	default:
		next.Since = prev.Since
		r.Add(plugin.OK, fmt.Sprintf("%s: primary is %s, unchanged since %s", where, h.Primary, prev.Since.Format(time.RFC3339)))
	}
	return &r, next
}
