package replset

import "fmt"

// State is a member state as replSetGetStatus numbers it
// (src/mongo/db/repl/member_state.h).
type State int

// Member states.
const (
	Startup    State = 0
	Primary    State = 1
	Secondary  State = 2
	Recovering State = 3
	Startup2   State = 5
	Unknown    State = 6
	Arbiter    State = 7
	Down       State = 8
	Rollback   State = 9
	Removed    State = 10
)

var stateNames = map[State]string{
	Startup: "STARTUP", Primary: "PRIMARY", Secondary: "SECONDARY",
	Recovering: "RECOVERING", Startup2: "STARTUP2", Unknown: "UNKNOWN",
	Arbiter: "ARBITER", Down: "DOWN", Rollback: "ROLLBACK", Removed: "REMOVED",
}

// String is the state's name as stateStr writes it ("state N" for a
// number mongod does not define).
func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state %d", int(s))
}

// summaryOrder is the order in which summaries count states.
var summaryOrder = []State{Primary, Secondary, Arbiter, Startup, Startup2, Recovering, Rollback, Down, Unknown, Removed}
