package plugin

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Label("queue", Endpoint("0.0.0.0:8080")...), "queue_8080"},
		{Label("queue", Endpoint("[::]:8080")...), "queue_ip6_8080"},
		{Label("queue", Endpoint("127.0.0.1:8080")...), "queue_127-0-0-1_8080"},
		{Label("queue", Endpoint("[::1]:8080")...), "queue_ip6--1_8080"},
		{Label("queue", Endpoint("[2001:db8::5]:443")...), "queue_ip6-2001-db8--5_443"},
		{Label("queue", Endpoint("[2001:DB8:0:0::5]:443")...), "queue_ip6-2001-db8--5_443"},
		{Label("queue", Endpoint("[::ffff:10.0.0.1]:80")...), "queue_10-0-0-1_80"},
		{Label("queue", Endpoint("[fe80::1%eth0]:80")...), "queue_ip6-fe80--1_eth0_80"},
		{Label("lag", Endpoint("db1.example.com:27017")...), "lag_db1_example_com_27017"},
		{Label("lag", Endpoint("DB1.Example.com:27017")...), "lag_db1_example_com_27017"},
		{Label("lag", Endpoint("mongo-1.prod:27017")...), "lag_mongo-1_prod_27017"},
		{Label("node", "0", "free"), "node_0_free"},
		{Label("opcounters", "getmore"), "opcounters_getmore"},
		{Label("connections_used"), "connections_used"},
		{Label("chunks", append(Split("app.users", "."), "rs-a")...), "chunks_app_users_rs-a"},
		{Label("imbalance", Split("app.Users", ".")...), "imbalance_app_Users"},
		{Label("imbalance", Split("fs.files.x", ".")...), "imbalance_fs_files_x"},
		{Label("stub", Split("request_time", "_")...), "stub_request_time"},
		{Name(Split("metrics.cursor.timedOut", ".")...), "metrics_cursor_timedOut"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
		if err := checkLabel(tc.got); err != nil {
			t.Errorf("Label built %q outside the scheme: %v", tc.got, err)
		}
	}
}

// A part the writing changes is marked: the readable form, '-' and six
// characters of the hash of the exact part, the same on every run.
func TestLabelMarked(t *testing.T) {
	for _, tc := range []struct {
		got, body string
	}{
		{Label("x", "user_events"), "x_user-events-"},
		{Label("x", "a b/c::d", "", "é"), "x_a-b-c--d-"},
		{Label("chunks", append(Split("app.a_b", "."), "shard_0")...), "chunks_app_a-b-"},
		{Label("lag", Endpoint("my_host.example:27017")...), "lag_my-host-"},
		{Label("lag", Endpoint("127-0-0-1:27017")...), "lag_127-0-0-1-"},
		{Label("lag", Endpoint("IP6-FE80--1:27017")...), "lag_ip6-fe80--1-"},
		{Label("lag", Endpoint("db1")...), "lag_db1-"},
		{Label("lag", Endpoint("db1:port")...), "lag_db1-port-"},
		{Label("imbalance", Split("app..x", ".")...), "imbalance_app--x-"},
	} {
		if !strings.HasPrefix(tc.got, tc.body) {
			t.Errorf("got %q, want it to start %q", tc.got, tc.body)
		}
		if err := checkLabel(tc.got); err != nil {
			t.Errorf("Label built %q outside the scheme: %v", tc.got, err)
		}
	}
	// The suffix is a fixed function of the exact part, never of what
	// else is printed: FNV-1a 64 of "user_events", top 30 bits.
	if got := Label("x", "user_events"); got != "x_user-events-"+partHash("user_events") || len(partHash("user_events")) != 6 {
		t.Errorf("got %q", got)
	}
	if partHash("user_events") != "3dxbn6" {
		t.Errorf("partHash changed: %q; every marked label of every user would change with it", partHash("user_events"))
	}
	// A host name is case-insensitive: one host, one label, marked or not.
	if a, b := Label("lag", Endpoint("My_Host:1")...), Label("lag", Endpoint("my_host:1")...); a != b {
		t.Errorf("%q != %q", a, b)
	}
}

// Identities that the first version wrote the same (case folded, every
// character outside the scheme as '-', '_' both inside a name and between
// parts) get labels of their own; the same endpoint written differently
// shares one.
func TestLabelUnique(t *testing.T) {
	families := map[string][][]string{
		"queue": endpoints("0.0.0.0:80", "[::]:80", "127.0.0.1:80", "[::1]:80", "10.0.0.1:80", "[::a00:1]:80",
			"0.0.0.0:8080", "[fe80::1%eth0]:80", "[fe80::1%eth1]:80", "[fe80::1]:80", "[fe80::1:0]:80",
			"[2001:db8::1]:80", "[2001:db8:0:1::]:80"),
		"lag": endpoints("db1.example.com:27017", "db2.example.com:27017", "db1.example.com:27018", "db1:27017",
			"a-b.c:27017", "a.b-c:27017", "a_b.c:27017", "a.b_c:27017", "127.0.0.1:27017", "127-0-0-1:27017",
			"[::1]:27017", "ip6--1:27017", "ip6:27017", "[::]:27017", "db1.27017:1", "db1:1", "db1", "db1:x"),
		"imbalance": namespaces("app.users", "app.Users", "app.a.b", "app.a-b", "app.a_b", "app.a b", "app.a/b",
			"app.a..b", "app.a.-b", "app.a-.b", "app.é", "app.e"),
		"collections": {{"app"}, {"App"}, {"my_db"}, {"my-db"}, {"my", "db"}, {"my_db", "x"}, {"my", "db_x"}},
	}
	var chunks [][]string
	for _, ns := range []string{"app.x_y", "app.x", "app.x.y", "app.x-y"} {
		for _, shard := range []string{"z", "y_z", "y.z", "y-z", "Z"} {
			chunks = append(chunks, append(Split(ns, "."), shard))
		}
	}
	families["chunks"] = chunks
	for metric, ids := range families {
		seen := map[string][]string{}
		for _, id := range ids {
			l := Label(metric, id...)
			if err := checkLabel(l); err != nil {
				t.Errorf("%q: %v", id, err)
			}
			if prev, ok := seen[l]; ok {
				t.Errorf("%q and %q both give %q", prev, id, l)
			}
			seen[l] = id
		}
	}
}

func endpoints(eps ...string) [][]string {
	var out [][]string
	for _, e := range eps {
		out = append(out, Endpoint(e))
	}
	return out
}

func namespaces(nss ...string) [][]string {
	var out [][]string
	for _, ns := range nss {
		out = append(out, Split(ns, "."))
	}
	return out
}

func TestCheckLabel(t *testing.T) {
	for l, ok := range map[string]bool{
		"queue_8080": true, "lag_db1_example_com_27017": true, "a": true, "ip6--1": true, "Queue": true, "imbalance_app_Users": true,
		"": false, "8080": false, "_a": false, "-a": false, "a.b": false, "a:b": false,
		"a::b": false, "a b": false, "'a'": false, "a=b": false, "é": false, "a\xff": false, "a/b": false,
	} {
		if err := checkLabel(l); (err == nil) != ok {
			t.Errorf("checkLabel(%q) = %v, want ok=%v", l, err, ok)
		}
	}
}

// TestLabelBounded: a label over maxLabel bytes is cut to exactly
// maxLabel, stays in the scheme, keeps its start, and two long labels
// that differ only past the cut stay apart.
func TestLabelBounded(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct {
		name string
		got  string
	}{
		{"Label, exact parts", Label("chunks", long+"x", "rs0")},
		{"Label, marked part", Label("lag", Endpoint(strings.Repeat("\x0f", 3000))...)},
		{"Label, no parts", Label(long)},
		{"Name", Name(Split(strings.Repeat("metrics.", 40)+"x", ".")...)},
		{"Label of a Name", Label(Name(Split(strings.Repeat("metrics.", 40)+"x", ".")...), "rate")},
	}
	seen := map[string]string{}
	for _, c := range cases {
		if len(c.got) != maxLabel {
			t.Errorf("%s: %d bytes, want %d: %q", c.name, len(c.got), maxLabel, c.got)
		}
		if err := checkLabel(c.got); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if prev, ok := seen[c.got]; ok {
			t.Errorf("%s and %s share %q", prev, c.name, c.got)
		}
		seen[c.got] = c.name
	}
	if a, b := Label("chunks", long+"x", "rs0"), Label("chunks", long+"x", "rs1"); a == b || a[:maxLabel-7] != b[:maxLabel-7] {
		t.Errorf("labels differing past the cut: %q and %q", a, b)
	}
	if got := Label("chunks", strings.Repeat("a", maxLabel-len("chunks_"))); len(got) != maxLabel || strings.Contains(got[len(got)-7:], "-") {
		t.Errorf("a label of exactly %d bytes was changed: %q", maxLabel, got)
	}
	if err := checkLabel(long); err == nil {
		t.Errorf("checkLabel accepted a label of %d bytes", len(long))
	}
}
