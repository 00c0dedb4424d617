package replset

import (
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// PrimaryState is what primary-change remembers between runs.
type PrimaryState struct {
	Set     string `json:"set"`
	Primary string `json:"primary"`
	// Term is the election term the primary was seen in (0: unknown).
	Term  int64     `json:"term,omitempty"`
	Since time.Time `json:"since"`
	Seen  time.Time `json:"seen"`
	// Change and ChangedAt are the last change seen, which stays WARNING
	// for the hold time.
	Change    string    `json:"change,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitempty"`
}

// PrimaryChange compares the primary and term hello shows with the
// previous run's and returns the result and the state to save (nil to
// keep the old one). A change (another host, or the same host elected in
// a newer term) is WARNING for hold after it was first seen, so that it
// lasts the retries a monitoring system needs for a HARD state.
func PrimaryChange(h *Hello, prev PrimaryState, found bool, note string, now time.Time, hold time.Duration) (*plugin.Result, *PrimaryState) {
	var r plugin.Result
	where := h.Where()
	if h.Primary == "" {
		f := r.Add(plugin.Critical, fmt.Sprintf("%s: no primary", where))
		if found && prev.Primary != "" {
			f.Detailf("the last primary seen was %s (at %s)", prev.Primary, prev.Seen.Format(time.RFC3339))
		}
		f.Detailf("run --mode replset-state for the members' states; the state file is kept so the next primary is compared with the last one")
		return &r, nil
	}
	term := h.Term()
	next := &PrimaryState{Set: h.SetName, Primary: h.Primary, Term: term, Since: now, Seen: now}
	change := ""
	switch {
	case !found:
		f := r.Add(plugin.OK, fmt.Sprintf("%s: primary is %s (first run, remembered)", where, h.Primary))
		if note != "" {
			f.Detailf("%s", note)
		}
		return &r, next
	case prev.Primary != h.Primary:
		change = fmt.Sprintf("primary changed from %s to %s", prev.Primary, h.Primary)
	case term > 0 && prev.Term > 0 && term > prev.Term:
		change = fmt.Sprintf("%s was elected again (term %d, was %d)", h.Primary, term, prev.Term)
	}
	if change != "" {
		next.Change, next.ChangedAt = change, now
		r.Add(plugin.Warning, fmt.Sprintf("%s: %s", where, change)).
			Detailf("%s was primary since %s (term %s); look at the old primary's log for why it stepped down (crash, network loss, rs.stepDown(), a priority change)", prev.Primary, prev.Since.Format(time.RFC3339), termText(prev.Term)).
			Detailf("this stays WARNING until %s (--hold %s), long enough for a HARD state and a notification", now.Add(hold).Format(time.RFC3339), hold)
		return &r, next
	}
	next.Since, next.Change, next.ChangedAt = prev.Since, prev.Change, prev.ChangedAt
	next.Term = max(term, prev.Term)
	if prev.Change != "" && now.Sub(prev.ChangedAt) < hold {
		r.Add(plugin.Warning, fmt.Sprintf("%s: %s %s ago", where, prev.Change, roundDuration(now.Sub(prev.ChangedAt)))).
			Detailf("held WARNING until %s (--hold %s); the primary has stayed %s since", prev.ChangedAt.Add(hold).Format(time.RFC3339), hold, h.Primary)
		return &r, next
	}
	r.Add(plugin.OK, fmt.Sprintf("%s: primary is %s, unchanged since %s", where, h.Primary, prev.Since.Format(time.RFC3339)))
	return &r, next
}

func termText(t int64) string {
	if t <= 0 {
		return "unknown"
	}
	return fmt.Sprint(t)
}

func roundDuration(d time.Duration) time.Duration { return d.Round(time.Second) }
