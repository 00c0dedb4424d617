package sharding

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

func rng(s string) *thresholds.Range {
	r := thresholds.MustParse(s)
	return &r
}

func render(r *plugin.Result) (string, plugin.State) { return plugin.Render("MONGODB", r) }

func TestSeeds(t *testing.T) {
	for host, want := range map[string]string{
		"rs1/db1:27018,db2:27018": "rs1|db1:27018 db2:27018",
		"db9:27018":               "|db9:27018",
	} {
		set, hosts := Shard{Host: host}.Seeds()
		if got := set + "|" + strings.Join(hosts, " "); got != want {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
}

func TestShardsVerdict(t *testing.T) {
	a := Shard{ID: "a", Host: "a/h1:1,h2:1"}
	b := Shard{ID: "b", Host: "rsb/h3:1", Draining: true}
	for _, tc := range []struct {
		name  string
		in    []Reach
		state plugin.State
		text  string
	}{
		{"all up", []Reach{{Shard: a}, {Shard: b}}, plugin.OK, "shard b (rsb) is draining - 2 of 2 shards answer"},
		{"down", []Reach{{Shard: a, Err: errors.New("connection refused")}, {Shard: b}}, plugin.Critical, "shard a unreachable: connection refused"},
		{"no primary", []Reach{{Shard: a, NoPrimary: true, Err: errors.New("members answer as SECONDARY")}}, plugin.Critical, "shard a has no primary (members answer as SECONDARY)"},
		{"silent", []Reach{{Shard: a, TimedOut: true, Elapsed: 2500 * time.Millisecond}}, plugin.Critical, "shard a did not answer within 2.5 s"},
		{"none", nil, plugin.Critical, "the cluster lists no shard"},
	} {
		out, st := render(ShardsResult(tc.in))
		if st != tc.state || !strings.Contains(out, tc.text) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, st, out, tc.state, tc.text)
		}
	}
}

func TestBalancerVerdict(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		b     Balancer
		off   plugin.State
		state plugin.State
		text  string
	}{
		{"on", Balancer{Mode: "full", NumRounds: 9}, plugin.Critical, plugin.OK, "balancer enabled | balancer_enabled=1;;;0;1 balancer_rounds=9c;;;0"},
		{"in a round", Balancer{Mode: "full", InRound: true}, plugin.Critical, plugin.OK, "balancer enabled, in a round"},
		{"off", Balancer{Mode: "off"}, plugin.Critical, plugin.Critical, "balancer is disabled (mode off)"},
		{"off on purpose", Balancer{Mode: "off"}, plugin.OK, plugin.OK, "balancer is disabled (mode off)"},
		{"noBalance", Balancer{Mode: "full", NoBalance: []string{"a.b", "a.c"}}, plugin.Critical, plugin.Warning, "2 collections excluded from balancing (noBalance): a.b, a.c"},
		{"last round failed", Balancer{Mode: "full", Rounds: []Round{{Time: now, Failed: true, Errmsg: "boom"}, {Time: now}}}, plugin.Critical, plugin.Warning, "the last balancer round failed (2026-12-06T05:00:00Z): boom"},
		{"an older round failed", Balancer{Mode: "full", Rounds: []Round{{Time: now}, {Time: now, Failed: true}}}, plugin.Critical, plugin.OK, "1 of the last 2 balancer rounds failed; the last one succeeded"},
	} {
		out, st := render(BalancerResult(tc.b, tc.off))
		if st != tc.state || !strings.Contains(out, tc.text) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, st, out, tc.state, tc.text)
		}
	}
}

func TestDecodeRoundBothSpellings(t *testing.T) {
	for _, field := range []string{"errorOccured", "errorOccurred"} {
		raw, _ := bson.Marshal(bson.D{{Key: "time", Value: primitive.NewDateTimeFromTime(time.Unix(100, 0))},
			{Key: "details", Value: bson.D{{Key: "executionTimeMillis", Value: int32(5)}, {Key: field, Value: true}, {Key: "errmsg", Value: "x"}}}})
		r, err := DecodeRound(raw)
		if err != nil || !r.Failed || r.Errmsg != "x" {
			t.Errorf("%s: %+v %v", field, r, err)
		}
	}
}

// The counts of CountPipeline's groups go to the right collection by
// uuid (5.0+) or ns (before), jumbo counted apart.
func TestChunkVerdicts(t *testing.T) {
	ts := primitive.Timestamp{T: 1}
	u := primitive.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}
	colls := []Collection{{NS: "app.users", UUID: u, Timestamp: &ts}, {NS: "app.logs"}}
	group := func(id bson.D, n int32) bson.Raw {
		raw, _ := bson.Marshal(bson.D{{Key: "_id", Value: id}, {Key: "n", Value: n}})
		return raw
	}
	groups := []bson.Raw{
		group(bson.D{{Key: "uuid", Value: u}, {Key: "shard", Value: "s1"}}, 5),
		group(bson.D{{Key: "uuid", Value: u}, {Key: "shard", Value: "s1"}, {Key: "jumbo", Value: true}}, 1),
		group(bson.D{{Key: "uuid", Value: u}, {Key: "shard", Value: "s2"}}, 3),
		group(bson.D{{Key: "ns", Value: "app.logs"}, {Key: "shard", Value: "s1"}}, 4),
		group(bson.D{{Key: "ns", Value: "other.coll"}, {Key: "shard", Value: "s1"}}, 9),
	}
	counts, err := DecodeCounts(groups, colls)
	if err != nil {
		t.Fatal(err)
	}
	d := Distribution{Shards: []Shard{{ID: "s1"}, {ID: "s2"}, {ID: "s3", Draining: true}}, Collections: colls, Counts: counts}
	if pct, most, fewest := d.Imbalance("app.users"); pct != 50 || most != 6 || fewest != 3 {
		t.Errorf("imbalance of app.users %v %d %d", pct, most, fewest)
	}
	if pct, _, _ := d.Imbalance("app.logs"); pct != 100 {
		t.Errorf("imbalance of app.logs (4 and 0) %v, want 100", pct)
	}
	out, st := render(ChunkBalanceResult(d, thresholds.NewPair(rng("40"), rng("90"))))
	for _, want := range []string{"app.logs: chunks s1 4, s2 0, s3 0, imbalance 100%", "app.users: chunks s1 6, s2 3, s3 0, imbalance 50%",
		"imbalance_app_users=50%;40;90;0;100", "chunks_app_users_s1=6;;;0", "chunks_app_logs_s3=0;;;0"} {
		if !strings.Contains(out, want) {
			t.Errorf("chunk-balance lacks %q:\n%s", want, out)
		}
	}
	if st != plugin.Critical {
		t.Errorf("state %s", st)
	}
	out, st = render(JumboResult(d, thresholds.NewPair(rng("0"), nil)))
	if st != plugin.Warning || !strings.Contains(out, "1 jumbo chunks in 2 sharded collections: app.users 1 | jumbo_chunks=1;0;;0 jumbo_app_users=1;;;0 jumbo_app_logs=0;;;0") {
		t.Errorf("%s %q", st, out)
	}
	out, st = render(ChunkBalanceResult(Distribution{}, thresholds.Pair{}))
	if st != plugin.OK || !strings.Contains(out, "no sharded collection") {
		t.Errorf("%s %q", st, out)
	}
}
