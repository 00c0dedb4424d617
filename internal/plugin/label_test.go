package plugin

import (
	"testing"
)

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Label("queue", Endpoint("0.0.0.0:8080")), "queue_8080"},
		{Label("queue", Endpoint("[::]:8080")), "queue_ip6_8080"},
		{Label("queue", Endpoint("127.0.0.1:8080")), "queue_127-0-0-1_8080"},
		{Label("queue", Endpoint("[::1]:8080")), "queue_ip6--1_8080"},
		{Label("queue", Endpoint("[2001:db8::5]:443")), "queue_ip6-2001-db8--5_443"},
		{Label("queue", Endpoint("[2001:DB8:0:0::5]:443")), "queue_ip6-2001-db8--5_443"},
		{Label("queue", Endpoint("[::ffff:10.0.0.1]:80")), "queue_10-0-0-1_80"},
		{Label("queue", Endpoint("[fe80::1%eth0]:80")), "queue_ip6-fe80--1_eth0_80"},
		{Label("lag", Endpoint("db1.example.com:27017")), "lag_db1-example-com_27017"},
		{Label("lag", Endpoint("DB1.Example.com:27017")), "lag_db1-example-com_27017"},
		{Label("lag", Endpoint("db1")), "lag_db1"},
		{Label("node", "0", "free"), "node_0_free"},
		{Label("opcounters", "getmore"), "opcounters_getmore"},
		{Label("x", "a b/c::d", "", "é"), "x_a-b-c--d_-"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
		if err := checkLabel(tc.got); err != nil {
			t.Errorf("Label built %q outside the scheme: %v", tc.got, err)
		}
	}
}

// Different endpoints never share a label (the scheme is one spelling per
// address), and the same endpoint written differently shares one.
func TestLabelUnique(t *testing.T) {
	eps := []string{"0.0.0.0:80", "[::]:80", "127.0.0.1:80", "[::1]:80", "10.0.0.1:80", "[::a00:1]:80",
		"0.0.0.0:8080", "[fe80::1%eth0]:80", "[fe80::1%eth1]:80", "[fe80::1]:80", "[fe80::1:0]:80",
		"db1.example.com:27017", "db2.example.com:27017", "db1.example.com:27018", "db1:27017", "[2001:db8::1]:80", "[2001:db8:0:1::]:80"}
	seen := map[string]string{}
	for _, e := range eps {
		l := Label("queue", Endpoint(e))
		if prev, ok := seen[l]; ok {
			t.Errorf("%s and %s both give %q", prev, e, l)
		}
		seen[l] = e
	}
}

func TestCheckLabel(t *testing.T) {
	for l, ok := range map[string]bool{
		"queue_8080": true, "lag_db1-example-com_27017": true, "a": true, "ip6--1": true,
		"": false, "Queue": false, "8080": false, "_a": false, "-a": false, "a.b": false, "a:b": false,
		"a::b": false, "a b": false, "'a'": false, "a=b": false, "é": false, "a\xff": false, "a/b": false,
	} {
		if err := checkLabel(l); (err == nil) != ok {
			t.Errorf("checkLabel(%q) = %v, want ok=%v", l, err, ok)
		}
	}
}
