package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Member states as replSetGetStatus numbers them.
const (
	rsStartup    = 0
	rsPrimary    = 1
	rsSecondary  = 2
	rsRecovering = 3
	rsStartup2   = 5
	rsUnknown    = 6
	rsArbiter    = 7
	rsDown       = 8
	rsRollback   = 9
	rsRemoved    = 10
)

var rsStateNames = map[int]string{
	rsStartup: "STARTUP", rsPrimary: "PRIMARY", rsSecondary: "SECONDARY",
	rsRecovering: "RECOVERING", rsStartup2: "STARTUP2", rsUnknown: "UNKNOWN",
	rsArbiter: "ARBITER", rsDown: "DOWN", rsRollback: "ROLLBACK", rsRemoved: "REMOVED",
}

func rsStateName(s int) string {
	if n, ok := rsStateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state %d", s)
}

// ReplMember is one member as replSetGetStatus reports it, merged with
// what replSetGetConfig (or, lacking that, hello) says about it.
type ReplMember struct {
	Name   string
	Health float64
	State  int
	Self   bool
	// Optime is the last applied operation's time; zero when unknown
	// (arbiters, unreachable members).
	Optime time.Time
	// LastHeartbeatRecv is when this member last heard from it (zero
	// for self).
	LastHeartbeatRecv time.Time
	SyncSource        string
	Message           string

	// From the configuration.
	Hidden  bool
	Delay   time.Duration
	Votes   int
	Arbiter bool
}

// ReplStatus is a decoded replSetGetStatus reply.
type ReplStatus struct {
	Set  string
	Date time.Time
	// MajorityVoteCount and VotingMembers come from 4.4+ servers; zero
	// when absent.
	MajorityVoteCount int
	VotingMembers     int
	Members           []ReplMember
	// ConfigKnown says hidden, delay and votes come from the
	// configuration rather than defaults.
	ConfigKnown bool
}

type rawStatus struct {
	Set               string             `bson:"set"`
	Date              primitive.DateTime `bson:"date"`
	MajorityVoteCount int                `bson:"majorityVoteCount"`
	VotingMembers     int                `bson:"votingMembersCount"`
	Members           []bson.Raw         `bson:"members"`
}

type rawMember struct {
	Name               string             `bson:"name"`
	Health             *float64           `bson:"health"`
	State              int                `bson:"state"`
	Self               bool               `bson:"self"`
	Optime             bson.RawValue      `bson:"optime"`
	OptimeDate         primitive.DateTime `bson:"optimeDate"`
	LastHeartbeatRecv  primitive.DateTime `bson:"lastHeartbeatRecv"`
	SyncSourceHost     string             `bson:"syncSourceHost"`
	SyncingTo          string             `bson:"syncingTo"`
	InfoMessage        string             `bson:"infoMessage"`
	HeartbeatMessage   string             `bson:"lastHeartbeatMessage"`
	SlaveDelay         *float64           `bson:"slaveDelay"`
	SecondaryDelaySecs *float64           `bson:"secondaryDelaySecs"`
}

func rsDate(d primitive.DateTime) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return d.Time().UTC()
}

// rsOptime reads an optime: {ts: Timestamp, t: term} (protocol version
// 1) or a bare Timestamp (old servers).
func rsOptime(v bson.RawValue) time.Time {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		if t, _, ok := v.Document().Lookup("ts").TimestampOK(); ok && t > 0 {
			return time.Unix(int64(t), 0).UTC()
		}
	case bson.TypeTimestamp:
		if t, _ := v.Timestamp(); t > 0 {
			return time.Unix(int64(t), 0).UTC()
		}
	}
	return time.Time{}
}

// DecodeReplStatus decodes a replSetGetStatus reply, whichever server
// version shaped it (syncingTo/slaveDelay before 5.0, syncSourceHost/
// secondaryDelaySecs since).
func DecodeReplStatus(raw bson.Raw) (*ReplStatus, error) {
	var rs rawStatus
	if err := bson.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("decoding replSetGetStatus: %v", err)
	}
	if rs.Set == "" {
		return nil, &MissingError{Field: "replSetGetStatus.set"}
	}
	if len(rs.Members) == 0 {
		return nil, &MissingError{Field: "replSetGetStatus.members"}
	}
	st := &ReplStatus{Set: rs.Set, Date: rsDate(rs.Date),
		MajorityVoteCount: rs.MajorityVoteCount, VotingMembers: rs.VotingMembers}
	for i, mr := range rs.Members {
		var m rawMember
		if err := bson.Unmarshal(mr, &m); err != nil {
			return nil, fmt.Errorf("decoding replSetGetStatus.members.%d: %v", i, err)
		}
		if m.Name == "" {
			return nil, &MissingError{Field: fmt.Sprintf("replSetGetStatus.members.%d.name", i)}
		}
		rm := ReplMember{Name: m.Name, Health: 1, State: m.State, Self: m.Self,
			LastHeartbeatRecv: rsDate(m.LastHeartbeatRecv), Votes: 1,
			Arbiter: m.State == rsArbiter}
		if m.Health != nil {
			rm.Health = *m.Health
		}
		rm.Optime = rsDate(m.OptimeDate)
		if rm.Optime.IsZero() {
			rm.Optime = rsOptime(m.Optime)
		}
		rm.SyncSource = m.SyncSourceHost
		if rm.SyncSource == "" {
			rm.SyncSource = m.SyncingTo
		}
		rm.Message = m.HeartbeatMessage
		if rm.Message == "" {
			rm.Message = m.InfoMessage
		}
		if d := rsFirstNumber(m.SecondaryDelaySecs, m.SlaveDelay); d > 0 {
			rm.Delay = time.Duration(d * float64(time.Second))
		}
		st.Members = append(st.Members, rm)
	}
	return st, nil
}

func rsFirstNumber(vs ...*float64) float64 {
	for _, v := range vs {
		if v != nil {
			return *v
		}
	}
	return 0
}

type rawConfig struct {
	Config struct {
		Members []struct {
			Host               string   `bson:"host"`
			ArbiterOnly        bool     `bson:"arbiterOnly"`
			Hidden             bool     `bson:"hidden"`
			Votes              *float64 `bson:"votes"`
			SlaveDelay         *float64 `bson:"slaveDelay"`
			SecondaryDelaySecs *float64 `bson:"secondaryDelaySecs"`
		} `bson:"members"`
	} `bson:"config"`
}

// ApplyConfig merges a replSetGetConfig reply into the status: hidden,
// delay, votes and arbiterOnly per member.
func (st *ReplStatus) ApplyConfig(raw bson.Raw) error {
	var rc rawConfig
	if err := bson.Unmarshal(raw, &rc); err != nil {
		return fmt.Errorf("decoding replSetGetConfig: %v", err)
	}
	if len(rc.Config.Members) == 0 {
		return &MissingError{Field: "replSetGetConfig.config.members"}
	}
	for _, cm := range rc.Config.Members {
		for i := range st.Members {
			m := &st.Members[i]
			if m.Name != cm.Host {
				continue
			}
			m.Hidden = cm.Hidden
			m.Arbiter = m.Arbiter || cm.ArbiterOnly
			if d := rsFirstNumber(cm.SecondaryDelaySecs, cm.SlaveDelay); d > 0 {
				m.Delay = time.Duration(d * float64(time.Second))
			}
			if cm.Votes != nil {
				m.Votes = int(*cm.Votes)
			}
		}
	}
	st.ConfigKnown = true
	return nil
}

// ReplHello is the part of a hello reply the replica-set modes use.
type ReplHello struct {
	SetName   string   `bson:"setName"`
	Hosts     []string `bson:"hosts"`
	Passives  []string `bson:"passives"`
	Arbiters  []string `bson:"arbiters"`
	Primary   string   `bson:"primary"`
	Me        string   `bson:"me"`
	Writable  bool     `bson:"isWritablePrimary"`
	IsMaster  bool     `bson:"ismaster"`
	Secondary bool     `bson:"secondary"`
	Arbiter   bool     `bson:"arbiterOnly"`
}

// ApplyHello marks members that hello lists nowhere as hidden: hello
// names every visible member in hosts, passives or arbiters. It is the
// fallback when replSetGetConfig is not allowed.
func (st *ReplStatus) ApplyHello(h *ReplHello) {
	if h == nil || len(h.Hosts)+len(h.Passives)+len(h.Arbiters) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, l := range [][]string{h.Hosts, h.Passives, h.Arbiters} {
		for _, n := range l {
			seen[n] = true
		}
	}
	for i := range st.Members {
		if !seen[st.Members[i].Name] {
			st.Members[i].Hidden = true
		}
	}
}

func (st *ReplStatus) self() *ReplMember {
	for i := range st.Members {
		if st.Members[i].Self {
			return &st.Members[i]
		}
	}
	return nil
}

// healthy reports whether the member is reachable and in a state the
// others consider up.
func (m *ReplMember) healthy() bool {
	return m.Health >= 1 && m.State != rsDown && m.State != rsUnknown && m.State != rsRemoved
}

// primaries are the healthy members in state PRIMARY.
func (st *ReplStatus) primaries() []*ReplMember {
	var out []*ReplMember
	for i := range st.Members {
		if m := &st.Members[i]; m.State == rsPrimary && m.healthy() {
			out = append(out, m)
		}
	}
	return out
}

// label describes a member for texts: name plus what is special.
func (m *ReplMember) label() string {
	var attrs []string
	if m.Self {
		attrs = append(attrs, "connected")
	}
	if m.Hidden {
		attrs = append(attrs, "hidden")
	}
	if m.Delay > 0 {
		attrs = append(attrs, fmt.Sprintf("delayed %s", rsSecs(m.Delay)))
	}
	if len(attrs) == 0 {
		return m.Name
	}
	return m.Name + " (" + strings.Join(attrs, ", ") + ")"
}

func rsSecs(d time.Duration) string {
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// rsUnreachableHint is the hint for a member the others cannot reach.
const rsUnreachableHint = "the member does not answer heartbeats: check that mongod runs on it and that the members can reach each other"

// rsVerdict maps a member's state to the plugin state the
// replica-set modes report it with, with the reason and a hint. See
// README, "check_mongodb: replica-set modes".
func rsVerdict(m *ReplMember) (plugin.State, string, string) {
	if m.Arbiter || m.State == rsArbiter {
		if !m.healthy() || m.State != rsArbiter {
			return plugin.Warning, fmt.Sprintf("arbiter %s is %s", m.Name, rsStateText(m)),
				"the arbiter's vote is missing: restart it or fix its network path, else one more failure can leave the set without a majority"
		}
		return plugin.OK, fmt.Sprintf("arbiter %s is ARBITER", m.Name), ""
	}
	if m.Health < 1 && m.State != rsRemoved {
		return plugin.Warning, fmt.Sprintf("%s is %s", m.label(), rsStateText(m)),
			rsUnreachableHint
	}
	switch m.State {
	case rsPrimary, rsSecondary:
		return plugin.OK, fmt.Sprintf("%s is %s", m.label(), rsStateName(m.State)), ""
	case rsStartup, rsStartup2:
		return plugin.Warning, fmt.Sprintf("%s is %s", m.label(), rsStateName(m.State)),
			"the member is starting or in initial sync; it serves no reads and is no failover target until it reaches SECONDARY (watch its log)"
	case rsRecovering:
		return plugin.Warning, fmt.Sprintf("%s is RECOVERING", m.label()),
			"the member cannot serve reads: if it fell off the oplog (\"too stale to catch up\" in its log) it needs an initial sync; maintenance mode also shows as RECOVERING"
	case rsRollback:
		return plugin.Warning, fmt.Sprintf("%s is ROLLBACK", m.label()),
			"the member is rolling back writes a former primary did not replicate; check the rollback directory for the undone documents"
	case rsDown, rsUnknown:
		return plugin.Warning, fmt.Sprintf("%s is %s", m.label(), rsStateText(m)),
			rsUnreachableHint
	case rsRemoved:
		return plugin.Critical, fmt.Sprintf("%s is REMOVED", m.label()),
			"the member is not in the replica-set configuration: add it back with rs.add() or stop monitoring it"
	}
	return plugin.Unknown, fmt.Sprintf("%s is in %s", m.label(), rsStateName(m.State)), ""
}

func rsStateText(m *ReplMember) string {
	s := rsStateName(m.State)
	if m.Health < 1 {
		s += ", unreachable"
	}
	if m.Message != "" && m.Health < 1 {
		s += " (" + m.Message + ")"
	}
	return s
}

// rsNoReplication reports the errors of a server that is not a
// replica-set member (standalone, or not initiated).
func rsNoReplication(err error) bool {
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		return ce.Code == 76 || ce.Code == 94
	}
	msg := err.Error()
	return strings.Contains(msg, "not running with --replSet") || strings.Contains(msg, "NotYetInitialized")
}

// replView is what the replica-set modes fetched.
type replView struct {
	Status *ReplStatus
	Notes  []string
}

// replClient runs the replica-set modes' commands on one member: the
// primary when there is one.
type replClient struct {
	s     *Session
	rp    *readpref.ReadPref
	hello *ReplHello
	notes []string
	// pinned is a direct client to the one secondary that answers when
	// a replica-set connection has no reachable primary: with
	// primaryPreferred each command could go to another secondary, and
	// the first and last oplog entries must come from the same member.
	pinned *mongo.Client
}

// openRepl asks hello (primaryPreferred) who the primary is. Right after
// connecting through a replica-set URI the driver may know only the seed
// it heard from first, so when hello names a primary the driver has not
// selected, it waits (bounded) for it and then sends everything there.
// Without a reachable primary it pins the secondary that answered, when
// pin is set.
func openRepl(ctx context.Context, s *Session, pin bool) (*replClient, error) {
	rc := &replClient{s: s, rp: readpref.PrimaryPreferred()}
	h, err := rc.fetchHello(ctx)
	if err != nil {
		return nil, err
	}
	rc.hello = h
	if s.Direct || h.Writable || h.SetName == "" {
		return rc, nil
	}
	if h.Primary != "" {
		wait := 2 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)/2)
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		err := s.Client.Ping(pctx, readpref.Primary())
		cancel()
		switch {
		case err == nil:
			rc.rp = readpref.Primary()
			if ph, err := rc.fetchHello(ctx); err == nil {
				rc.hello = ph
			}
			return rc, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		why := rsErrText(err)
		if errors.Is(err, context.DeadlineExceeded) {
			why = fmt.Sprintf("no answer within %.1f s", wait.Seconds())
		}
		rc.notes = append(rc.notes, fmt.Sprintf("%s names %s as primary, which the check could not reach (%s); the figures come from %s", h.Me, h.Primary, why, h.Me))
	}
	if h.Me != "" && pin {
		if err := rc.pin(ctx, h.Me); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rc.notes = append(rc.notes, fmt.Sprintf("could not connect to %s alone (%s): the commands may have been answered by different secondaries", h.Me, rsErrText(err)))
		}
	}
	return rc, nil
}

// pin connects directly to member with the check's own connection
// options (credentials, TLS), the timeouts ending with ctx.
func (rc *replClient) pin(ctx context.Context, member string) error {
	co := *rc.s.opts
	co.ReplicaSet = nil
	co.SetHosts([]string{member}).SetDirect(true)
	setTimeouts(ctx, &co)
	c, err := mongo.Connect(ctx, &co)
	if err != nil {
		return err
	}
	rc.pinned = c
	return nil
}

// close disconnects the pinned client, if any, without delaying the
// answer.
func (rc *replClient) close(ctx context.Context) {
	if rc == nil || rc.pinned == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 200*time.Millisecond)
	defer cancel()
	_ = rc.pinned.Disconnect(cctx)
}

// run runs a command on the chosen member.
func (rc *replClient) run(ctx context.Context, db string, cmd bson.D, out *bson.Raw) error {
	c := rc.s.Client
	if rc.pinned != nil {
		c = rc.pinned
	}
	r := c.Database(db).RunCommand(ctx, cmd, options.RunCmd().SetReadPreference(rc.rp))
	if err := r.Err(); err != nil {
		if derr := deadlineError(ctx, err); derr != nil {
			return fmt.Errorf("%s on %s: %w", cmdName(cmd), rc.member(), derr)
		}
		return err
	}
	return r.Decode(out)
}

// cmdName is a command's name, its first key.
func cmdName(cmd bson.D) string {
	if len(cmd) == 0 {
		return ""
	}
	return cmd[0].Key
}

func (rc *replClient) fetchHello(ctx context.Context) (*ReplHello, error) {
	var raw bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "hello", Value: 1}}, &raw); err != nil {
		return nil, err
	}
	return DecodeHello(raw)
}

// fetchRepl runs replSetGetStatus, then replSetGetConfig (hidden, delay,
// votes); the configuration is best effort, hello fills in hidden members
// without it.
func (rc *replClient) fetchRepl(ctx context.Context) (*replView, error) {
	var raw bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "replSetGetStatus", Value: 1}}, &raw); err != nil {
		return nil, rsError(rc.s, "replSetGetStatus", err)
	}
	st, err := DecodeReplStatus(raw)
	if err != nil {
		return nil, err
	}
	v := &replView{Status: st, Notes: rc.notes}
	var cfg bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "replSetGetConfig", Value: 1}}, &cfg); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		v.Notes = append(v.Notes, fmt.Sprintf("replSetGetConfig failed (%s): hidden members guessed from hello, delays from replSetGetStatus; grant the clusterMonitor role for exact figures", rsErrText(err)))
	} else if err := st.ApplyConfig(cfg); err != nil {
		v.Notes = append(v.Notes, err.Error())
	}
	if !st.ConfigKnown {
		st.ApplyHello(rc.hello)
	}
	return v, nil
}

// fetchRepl opens the replica-set client and fetches the status; the
// caller closes the client.
func fetchRepl(ctx context.Context, s *Session) (*replClient, *replView, error) {
	rc, err := openRepl(ctx, s, true)
	if err != nil {
		return nil, nil, err
	}
	v, err := rc.fetchRepl(ctx)
	if err != nil {
		rc.close(ctx)
		return nil, nil, err
	}
	return rc, v, nil
}

// DecodeHello decodes a hello (or legacy isMaster) reply.
func DecodeHello(raw bson.Raw) (*ReplHello, error) {
	var h ReplHello
	if err := bson.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decoding hello: %v", err)
	}
	h.Writable = h.Writable || h.IsMaster
	return &h, nil
}

func rsError(s *Session, cmd string, err error) error {
	var ce mongo.CommandError
	if errors.As(err, &ce) && ce.Code == 93 {
		return plugin.Errorf(plugin.Critical, "%s is REMOVED: it is not in the replica-set configuration (%s: %s); add it back with rs.add() or stop monitoring it", s.Target, cmd, rsErrText(err))
	}
	if rsNoReplication(err) {
		return fmt.Errorf("%s is not a member of an initiated replica set (%s: %s): the replica-set modes need mongod started with --replSet and rs.initiate() run", s.Target, cmd, rsErrText(err))
	}
	if errors.As(err, &ce) && (ce.Code == 13 || ce.Code == 18) {
		return fmt.Errorf("%s refused %s (%s): the user needs the clusterMonitor role", s.Target, cmd, rsErrText(err))
	}
	if errors.As(err, &ce) && ce.Code == 59 {
		return fmt.Errorf("%s does not know %s: %s; the replica-set modes need a mongod replica-set member (mongos and MongoDB-compatible servers such as FerretDB lack it)", s.Target, cmd, rsErrText(err))
	}
	return fmt.Errorf("%s failed: %w", cmd, err)
}

func rsErrText(err error) string { return plugin.OneLine(trimDriver(err.Error())) }

// rsSorted returns the members in name order, for stable output.
func rsSorted(st *ReplStatus) []*ReplMember {
	out := make([]*ReplMember, 0, len(st.Members))
	for i := range st.Members {
		out = append(out, &st.Members[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// rsWhere names the set and the member the check talked to, for
// summaries: "rs0 via 127.0.0.1:27017 (SECONDARY)".
func rsWhere(st *ReplStatus) string {
	if self := st.self(); self != nil {
		return fmt.Sprintf("%s via %s (%s)", st.Set, self.Name, rsStateName(self.State))
	}
	return st.Set
}

// rsHelloWhere names the set and the member from hello, as rsWhere does
// from the status.
func rsHelloWhere(h *ReplHello) string {
	if h == nil || h.SetName == "" {
		return ""
	}
	role := "not primary or secondary"
	switch {
	case h.Writable:
		role = "PRIMARY"
	case h.Secondary:
		role = "SECONDARY"
	case h.Arbiter:
		role = "ARBITER"
	}
	if h.Me == "" {
		return h.SetName
	}
	return fmt.Sprintf("%s via %s (%s)", h.SetName, h.Me, role)
}
