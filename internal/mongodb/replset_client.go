package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/mongodb/replset"
	"github.com/opschecks/opschecks/internal/plugin"
)

// replClient runs the replica-set modes' commands on one member: the
// primary when there is one. It is the gather side of the replica-set
// modes; package replset judges what it fetched.
type replClient struct {
	s     *Session
	rp    *readpref.ReadPref
	hello *replset.Hello
	notes []string
	// pinned is a direct client to the one secondary that answers when
	// a replica-set connection has no reachable primary: with
	// primaryPreferred each command could go to another secondary, and
	// the first and last oplog entries must come from the same member.
	pinned *mongo.Client
}

// openRepl asks hello (primaryPreferred) who the primary is. When hello
// names a primary the driver has not selected (it has not answered yet,
// or failed its check), it waits for it until the session's primaryBy,
// the bound connect already waited under, and then sends everything
// there. Without a reachable primary it pins the secondary that
// answered, when pin is set.
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
		pctx, cancel := context.WithDeadline(ctx, s.primaryBy)
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
		why := errText(err)
		if mongo.IsTimeout(err) {
			why = fmt.Sprintf("no answer within %.1f s", s.primaryWait.Seconds())
		}
		rc.notes = append(rc.notes, fmt.Sprintf("%s names %s as primary, which the check could not reach (%s); the figures come from %s", h.Me, h.Primary, why, h.Me))
	}
	if h.Me != "" && pin {
		c, err := s.connectMember(ctx, h.Me)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rc.notes = append(rc.notes, fmt.Sprintf("could not connect to %s alone (%s): the commands may have been answered by different secondaries", h.Me, errText(err)))
		} else {
			rc.pinned = c
		}
	}
	return rc, nil
}

// connectMember connects directly to one member with the check's own
// connection options (credentials, TLS), the timeouts ending with ctx.
func (s *Session) connectMember(ctx context.Context, member string) (*mongo.Client, error) {
	co := *s.opts
	co.ReplicaSet = nil
	co.SetHosts([]string{member}).SetDirect(true)
	setTimeouts(ctx, &co)
	return mongo.Connect(ctx, &co)
}

// disconnect closes a member client without delaying the answer.
func disconnect(ctx context.Context, c *mongo.Client) {
	if c == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 200*time.Millisecond)
	defer cancel()
	_ = c.Disconnect(cctx)
}

// close disconnects the pinned client, if any.
func (rc *replClient) close(ctx context.Context) {
	if rc != nil {
		disconnect(ctx, rc.pinned)
	}
}

// run runs a command on the chosen member.
func (rc *replClient) run(ctx context.Context, db string, cmd bson.D, out *bson.Raw) error {
	c := rc.s.Client
	if rc.pinned != nil {
		c = rc.pinned
	}
	return runOn(ctx, c, rc.rp, rc.member(), db, cmd, out)
}

// runOn runs a command through client c with read preference rp (nil
// for a direct client); a driver timeout is reported as the check's.
func runOn(ctx context.Context, c *mongo.Client, rp *readpref.ReadPref, member, db string, cmd bson.D, out *bson.Raw) error {
	o := options.RunCmd()
	if rp != nil {
		o.SetReadPreference(rp)
	}
	r := c.Database(db).RunCommand(ctx, cmd, o)
	if err := r.Err(); err != nil {
		if derr := deadlineError(ctx, err); derr != nil {
			return fmt.Errorf("%s on %s: %w", cmd[0].Key, member, derr)
		}
		return err
	}
	return r.Decode(out)
}

func (rc *replClient) fetchHello(ctx context.Context) (*replset.Hello, error) {
	var raw bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "hello", Value: 1}}, &raw); err != nil {
		return nil, err
	}
	return replset.DecodeHello(raw)
}

// fetchRepl runs replSetGetStatus, then replSetGetConfig (hidden, delay,
// votes); the configuration is best effort, and without it
// hello tells which members are advertised.
func (rc *replClient) fetchRepl(ctx context.Context) (*replset.View, error) {
	var raw bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "replSetGetStatus", Value: 1}}, &raw); err != nil {
		return nil, rsError(ctx, rc.s, "replSetGetStatus", err)
	}
	st, err := replset.DecodeStatus(raw)
	if err != nil {
		return nil, err
	}
	v := &replset.View{Status: st, Notes: rc.notes}
	var cfg bson.Raw
	if err := rc.run(ctx, "admin", bson.D{{Key: "replSetGetConfig", Value: 1}}, &cfg); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		v.Notes = append(v.Notes, fmt.Sprintf("replSetGetConfig failed (%s): without the configuration the check knows neither which members are hidden nor their delays (hello lists neither hidden nor delayed members); grant the clusterMonitor role", errText(err)))
	} else if err := st.ApplyConfig(cfg); err != nil {
		v.Notes = append(v.Notes, err.Error())
	}
	if !st.ConfigKnown {
		st.ApplyHello(rc.hello)
	}
	rc.askInitialSyncs(ctx, st)
	return v, nil
}

// askInitialSyncs asks each other member in STARTUP2 about its initial
// sync: mongod reports initialSyncStatus only about itself, and a member
// whose initial sync keeps failing and restarting shows elsewhere as
// just STARTUP2. Best effort, at most a second (or a fifth of what is
// left of -t) per member.
func (rc *replClient) askInitialSyncs(ctx context.Context, st *replset.Status) {
	for i := range st.Members {
		m := &st.Members[i]
		if m.Self || m.State != replset.Startup2 || !m.Healthy() {
			continue
		}
		wait := time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)/5)
		}
		mctx, cancel := context.WithTimeout(ctx, wait)
		is, err := rc.initialSyncOf(mctx, m.Name)
		cancel()
		if err != nil || is == nil {
			continue
		}
		if st.Others == nil {
			st.Others = map[string]*replset.InitialSync{}
		}
		st.Others[m.Name] = is
	}
}

func (rc *replClient) initialSyncOf(ctx context.Context, member string) (*replset.InitialSync, error) {
	c, err := rc.s.connectMember(ctx, member)
	if err != nil {
		return nil, err
	}
	defer disconnect(ctx, c)
	var raw bson.Raw
	if err := runOn(ctx, c, nil, member, "admin", bson.D{{Key: "replSetGetStatus", Value: 1}}, &raw); err != nil {
		return nil, err
	}
	st, err := replset.DecodeStatus(raw)
	if err != nil {
		return nil, err
	}
	return st.InitialSync, nil
}

// fetchRepl opens the replica-set client and fetches the status; the
// caller closes the client.
func fetchRepl(ctx context.Context, s *Session) (*replClient, *replset.View, error) {
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

// member names the member the client talks to.
func (rc *replClient) member() string {
	if rc.hello != nil && rc.hello.Me != "" {
		return rc.hello.Me
	}
	return rc.s.Target
}

// oplogEnd runs find on local.oplog.rs for the first (dir 1) or last
// (dir -1) entry in natural order, which is what an oplog scan costs
// least for.
func oplogEnd(ctx context.Context, run func(context.Context, string, bson.D, *bson.Raw) error, s *Session, member string, dir int) (time.Time, error) {
	var raw bson.Raw
	cmd := bson.D{
		{Key: "find", Value: "oplog.rs"},
		{Key: "filter", Value: bson.D{}},
		{Key: "sort", Value: bson.D{{Key: "$natural", Value: dir}}},
		{Key: "projection", Value: bson.D{{Key: "ts", Value: 1}, {Key: "wall", Value: 1}}},
		{Key: "limit", Value: 1},
		{Key: "singleBatch", Value: true},
	}
	if err := run(ctx, "local", cmd, &raw); err != nil {
		return time.Time{}, rsError(ctx, s, "find on local.oplog.rs", err)
	}
	t, ok, err := replset.DecodeOplogEntry(raw)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, fmt.Errorf("local.oplog.rs on %s is empty or missing: the member is not part of a replica set, or is an arbiter", member)
	}
	return t, nil
}

// window measures the oplog window through run, on member.
func window(ctx context.Context, run func(context.Context, string, bson.D, *bson.Raw) error, s *Session, member string) (*replset.Window, error) {
	first, err := oplogEnd(ctx, run, s, member, 1)
	if err != nil {
		return nil, err
	}
	last, err := oplogEnd(ctx, run, s, member, -1)
	if err != nil {
		return nil, err
	}
	return &replset.Window{First: first, Last: last, Span: last.Sub(first), Member: member}, nil
}

// oplogWindow measures the oplog window of the chosen member: the
// primary when there is one.
func (rc *replClient) oplogWindow(ctx context.Context) (*replset.Window, error) {
	w, err := window(ctx, rc.run, rc.s, rc.member())
	if err != nil {
		return nil, err
	}
	w.Where = rc.hello.Where()
	if h := rc.hello; h != nil && !h.Writable && h.SetName != "" {
		if !rc.s.Direct && rc.pinned == nil {
			// No primary and no pinned member: any secondary may have
			// answered the finds, so name none.
			w.Member = "a secondary of " + h.SetName
			w.Where = h.SetName + " via a secondary (no reachable primary)"
		}
		w.Note = fmt.Sprintf("the oplog window was measured on %s, which is not the primary", w.Member)
	}
	return w, nil
}

// oplogSize reads the oplog's configured and used size ($collStats
// storageStats) on the member the window is measured on.
func (rc *replClient) oplogSize(ctx context.Context) (*replset.OplogSize, error) {
	var raw bson.Raw
	cmd := bson.D{
		{Key: "aggregate", Value: "oplog.rs"},
		{Key: "pipeline", Value: bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "storageStats", Value: bson.D{}}}}}}},
		{Key: "cursor", Value: bson.D{}},
	}
	if err := rc.run(ctx, "local", cmd, &raw); err != nil {
		return nil, err
	}
	return replset.DecodeOplogSize(raw)
}

// sourceWindow measures the oplog window of source, the sync source of
// the member the check reports on, through a direct connection: a member
// falls off when its lag exceeds its source's window, not its own.
func (rc *replClient) sourceWindow(ctx context.Context, source string) (*replset.Window, error) {
	c, err := rc.s.connectMember(ctx, source)
	if err != nil {
		return nil, err
	}
	defer disconnect(ctx, c)
	run := func(ctx context.Context, db string, cmd bson.D, out *bson.Raw) error {
		return runOn(ctx, c, nil, source, db, cmd, out)
	}
	w, err := window(ctx, run, rc.s, source)
	if err != nil {
		return nil, err
	}
	w.Source = true
	return w, nil
}

// rsError names what a failed replica-set command means.
func rsError(ctx context.Context, s *Session, cmd string, err error) error {
	switch {
	case codes.Is(err, codes.InvalidReplicaSetConfig):
		return plugin.Errorf(plugin.Critical, "%s is REMOVED: it is not in the replica-set configuration (%s: %s), add it back with rs.add() or stop monitoring it", s.Target, cmd, errText(err))
	case codes.Is(err, codes.NoReplicationEnabled, codes.NotYetInitialized):
		return fmt.Errorf("%s is not a member of an initiated replica set (%s: %s): the replica-set modes need mongod started with --replSet and rs.initiate() run", s.Target, cmd, errText(err))
	case codes.Is(err, codes.Unauthorized, codes.AuthenticationFailed) && s.User == "":
		return fmt.Errorf("%s requires authentication and no user was given (%s: %s): pass --user and --password-file (or MONGODB_PASSWORD) for a user with the clusterMonitor role", s.Target, cmd, errText(err))
	case codes.Is(err, codes.Unauthorized, codes.AuthenticationFailed):
		return fmt.Errorf("%s refused %s to user %s (%s): %s", s.Target, cmd, s.User, errText(err), s.privilegeHint(ctx, cmd))
	case codes.Is(err, codes.CommandNotFound):
		return fmt.Errorf("%s does not know %s: %s (the replica-set modes need a mongod replica-set member, which mongos and MongoDB-compatible servers such as FerretDB are not)", s.Target, cmd, errText(err))
	}
	return fmt.Errorf("%s failed: %w", cmd, err)
}

func errText(err error) string { return plugin.OneLine(trimDriver(err.Error())) }
