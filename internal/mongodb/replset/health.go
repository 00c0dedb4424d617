package replset

import (
	"fmt"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

// canVote lists the states in which a member's vote counts in an
// election (MongoDB's documented electable-vote states).
func canVote(m *Member) bool {
	if !m.Healthy() || m.Votes <= 0 {
		return false
	}
	switch m.State {
	case Primary, Secondary, Startup2, Recovering, Arbiter, Rollback:
		return true
	}
	return false
}

// Majority returns the number of voting members and the votes a majority
// needs: from the server when it reports them (4.4+ votingMembersCount,
// 4.2.1+ majorityVoteCount), else from the configured votes.
func Majority(st *Status) (voting, need int) {
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

// PrimaryText names the primary, or says there is none or more than one.
func PrimaryText(ps []*Member) string {
	switch len(ps) {
	case 0:
		return "no primary"
	case 1:
		return "primary " + ps[0].Name
	}
	return fmt.Sprintf("%d primaries (%s)", len(ps), names(ps))
}

// Health is the replset-state verdict: each member's state, the
// primaries and the voting majority.
func Health(v *View) *plugin.Result {
	st := v.Status
	var r plugin.Result
	counts := map[State]int{}
	healthyVotes := 0
	for _, m := range st.sorted() {
		if canVote(m) {
			healthyVotes += m.Votes
		}
		counts[m.State]++
		vst, text, hint := m.Verdict(st.initialSyncOf(m))
		if m.Healthy() && m.State != Arbiter {
			text += fmt.Sprintf(", health %g", m.Health)
		}
		f := r.Add(vst, text)
		f.Quiet = vst == plugin.OK
		if hint != "" {
			f.Detailf("%s", hint)
		}
	}
	voting, need := Majority(st)
	primaries := st.Primaries()
	switch len(primaries) {
	case 0:
		r.Add(plugin.Critical, fmt.Sprintf("%s has no PRIMARY", st.Set)).
			Detailf("writes fail until a primary is elected: a majority of voting members (%d of %d) must be up and see each other; look at the members' logs for election errors", need, voting)
	case 1:
	default:
		r.Add(plugin.Critical, fmt.Sprintf("%s has %d PRIMARY members: %s", st.Set, len(primaries), names(primaries))).
			Detailf("a network partition: the primary with the older term steps down once it can reach the others; check connectivity between the members, and writes made on the stale side may be rolled back")
	}
	if healthyVotes < need {
		r.Add(plugin.Critical, fmt.Sprintf("only %d of %d voting members are healthy, a majority needs %d", healthyVotes, voting, need)).
			Detailf("without a majority no primary can be elected or stay primary: bring members back, or as a last resort reconfigure with rs.reconfig({force: true}) on a surviving member")
	}

	var parts []string
	for _, s := range summaryOrder {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	hf := r.Add(plugin.OK, fmt.Sprintf("%s: %s, %s, %d/%d voting members healthy (majority %d)",
		st.Where(), PrimaryText(primaries), strings.Join(parts, ", "), healthyVotes, voting, need),
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
