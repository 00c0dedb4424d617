package main

import (
	"strconv"
	"strings"
)

// rule is one speed or size target from ../shared/DESIGN.md.
type rule struct {
	Peer      string  // key of the peer the wall time is compared with ("" for absolute)
	Limit     float64 // ratio to the peer's median wall time, at most
	AbsMs     float64 // or: median wall time below this many ms
	RSSMiB    float64 // and peak RSS below this (0: no size target)
	AtMaxOnly bool    // judged at the largest N only
	Source    string  // where the target comes from
}

// target is one command line the harness measures.
type target struct {
	Key       string   // stable name in the results (placeholders, not port numbers)
	Bin       string   // a check's name under cmd/, or a peer's executable
	Args      []string // {LOADPORT} {QPORT} {PROBEPORT} {STATE} {FERRET} {HEAPPID} {NUMA2} are filled in
	Check     bool     // one of ours, built from cmd/<Bin>
	Tool      bool     // the harness's own reference program, built from bench/<Bin>
	Peer      string   // the peer shown beside it in the table
	Rules     []rule
	Flat      bool   // must not grow with N (a LISTEN-only or sysctl-only check)
	FirstOnly bool   // measured at the first N only (not a socket-table workload)
	Needs     string // comma-separated: ferretdb, heap, numa2, conntrack
}

const (
	peerDummy = "check_dummy 0 bench"
	peerTCP   = "check_tcp -H 127.0.0.1 -p $PROBE"
	peerLtn   = "ss -ltn"
	peerTno   = "ss -tno state established"
	peerTni   = "ss -tni state established"
	peerSyn   = "ss -tn state syn-recv"
	peerGo    = "gohello (empty Go program)"
	peerMongo = "mongoping mongodb://127.0.0.1:$FERRET"
	peerCtC   = "conntrack -C (200,000 tracked)"
	peerCtS   = "conntrack -S (200,000 tracked)"
)

var (
	ruleLocal = rule{Peer: peerDummy, Limit: 3, RSSMiB: 15,
		Source: "DESIGN: local check <= 3x check_dummy, < 15 MiB"}
	ruleNginx = rule{Peer: peerLtn, Limit: 1, AtMaxOnly: true,
		Source: "DESIGN: check_nginx_queue <= 1x `ss -ltn` at the largest N"}
	ruleKeepaliveSockets = rule{Peer: peerTno, Limit: 1, AtMaxOnly: true,
		Source: "DESIGN: per-socket keepalive audit <= 1x `ss -tno state established` at the largest N"}
	ruleWindowEstablished = rule{Peer: peerTni, Limit: 1, AtMaxOnly: true,
		Source: "issue 11: check_tcp_window --established vs `ss -tni state established` (1x, as for the keepalive audit)"}
	ruleProbe = rule{Peer: peerTCP, Limit: 3, RSSMiB: 15,
		Source: "issue 11: live probe vs check_tcp on the same port (3x and 15 MiB, the local-check budget)"}
	ruleMongo = rule{AbsMs: 15, RSSMiB: 15,
		Source: "DESIGN: check_mongodb --mode connect < 15 ms and < 15 MiB"}
	ruleConntrackCount = rule{Peer: peerCtC, Limit: 1,
		Source: "DESIGN: check_conntrack <= 1x `conntrack -C` with 200,000 tracked entries"}
	ruleConntrackStats = rule{Peer: peerCtS, Limit: 1,
		Source: "DESIGN: check_conntrack <= 1x `conntrack -S` with 200,000 tracked entries"}
)

const pluginDir = "/usr/lib/nagios/plugins/"

// targets is everything measured, peers first (the order of the table).
func targets() []*target {
	return []*target{
		{Key: peerDummy, Bin: pluginDir + "check_dummy", Args: []string{"0", "bench"}, Flat: true},
		{Key: peerTCP, Bin: pluginDir + "check_tcp", Args: []string{"-H", "127.0.0.1", "-p", "{PROBEPORT}"}, Flat: true},
		{Key: peerGo, Bin: "gohello", Tool: true, Flat: true},
		{Key: peerLtn, Bin: "ss", Args: []string{"-ltn"}},
		{Key: peerTno, Bin: "ss", Args: []string{"-tno", "state", "established"}},
		{Key: peerTni, Bin: "ss", Args: []string{"-tni", "state", "established"}},
		{Key: peerSyn, Bin: "ss", Args: []string{"-tn", "state", "syn-recv"}},

		{Key: "check_nginx_queue -p $QUEUE --state-dir $DIR", Bin: "check_nginx_queue", Check: true,
			Args: []string{"-p", "{QPORT}", "--state-dir", "{STATE}"},
			Peer: peerLtn, Rules: []rule{ruleLocal, ruleNginx}, Flat: true},
		// --syn-recv makes the request `ss -tn state syn-recv` makes: the
		// kernel walks every connection of the host for it (request
		// sockets live in the established hash), so both grow with N and
		// differ by their start-up. Shown beside ss, with no target.
		{Key: "check_nginx_queue -p $QUEUE --syn-recv --state-dir $DIR", Bin: "check_nginx_queue", Check: true,
			Args: []string{"-p", "{QPORT}", "--syn-recv", "--state-dir", "{STATE}"},
			Peer: peerSyn},
		{Key: "check_keepalive", Bin: "check_keepalive", Check: true,
			Peer: peerDummy, Rules: []rule{ruleLocal}, Flat: true},
		{Key: "check_keepalive --sockets", Bin: "check_keepalive", Check: true,
			Args: []string{"--sockets"}, Peer: peerTno, Rules: []rule{ruleKeepaliveSockets}},
		{Key: "check_tcp_window --local", Bin: "check_tcp_window", Check: true,
			Args: []string{"--local"}, Peer: peerDummy, Rules: []rule{ruleLocal}, Flat: true},
		{Key: "check_tcp_window --established", Bin: "check_tcp_window", Check: true,
			Args: []string{"--established"}, Peer: peerTni, Rules: []rule{ruleWindowEstablished}},
		{Key: "check_tcp_window -H 127.0.0.1 -p $PROBE", Bin: "check_tcp_window", Check: true,
			Args: []string{"-H", "127.0.0.1", "-p", "{PROBEPORT}"}, Peer: peerTCP, Rules: []rule{ruleProbe}, Flat: true},
		// check_numa keeps the numa_miss rates: its state goes to the
		// harness's directory, never the host's /var/lib/opschecks (the
		// keys stay as earlier results name them).
		{Key: "check_numa", Bin: "check_numa", Check: true,
			Args: []string{"--state-dir", "{STATE}"}, Peer: peerDummy, Rules: []rule{ruleLocal}, Flat: true},
		// This machine has one node, where check_numa rightly reads no
		// numa_maps; the 2-node fixture sysfs of its tests makes it judge
		// the real process (the first line of numa_maps, as on a NUMA host).
		{Key: "check_numa --pid $HEAP --sysfs $NUMA2", Bin: "check_numa", Check: true, Needs: "heap,numa2",
			Args: []string{"--pid", "{HEAPPID}", "--sysfs", "{NUMA2}", "--state-dir", "{STATE}"}, Peer: peerDummy, Rules: []rule{ruleLocal}, Flat: true},
		{Key: "check_numa --pid $HEAP --sysfs $NUMA2 --distribution", Bin: "check_numa", Check: true, Needs: "heap,numa2",
			Args: []string{"--pid", "{HEAPPID}", "--sysfs", "{NUMA2}", "--distribution", "--state-dir", "{STATE}"}, Peer: peerDummy, FirstOnly: true},
		// 200,000 UDP flows tracked in the harness's namespace (conntrack.go),
		// measured once: the table does not change with N.
		{Key: peerCtC, Bin: "conntrack", Args: []string{"-C"}, Needs: "conntrack", FirstOnly: true},
		{Key: peerCtS, Bin: "conntrack", Args: []string{"-S"}, Needs: "conntrack", FirstOnly: true},
		{Key: "check_conntrack --state-dir $DIR (200,000 tracked)", Bin: "check_conntrack", Check: true, Needs: "conntrack",
			Args: []string{"--state-dir", "{STATE}"}, Peer: peerCtC, Rules: []rule{ruleLocal, ruleConntrackCount, ruleConntrackStats}, FirstOnly: true},
		{Key: peerMongo, Bin: "mongoping", Tool: true, Needs: "ferretdb",
			Args: []string{"mongodb://127.0.0.1:{FERRET}"}, FirstOnly: true},
		{Key: "check_mongodb --mode connect -H 127.0.0.1 -P $FERRET", Bin: "check_mongodb", Check: true, Needs: "ferretdb",
			Args: []string{"--mode", "connect", "-H", "127.0.0.1", "-P", "{FERRET}", "--state-dir", "{STATE}"}, Peer: peerMongo, Rules: []rule{ruleMongo}, FirstOnly: true},
	}
}

// vars are the values of the placeholders in a target's arguments.
type vars map[string]string

func (t *target) argv(bin string, v vars) []string {
	out := []string{bin}
	for _, a := range t.Args {
		for k, val := range v {
			a = strings.ReplaceAll(a, "{"+k+"}", val)
		}
		out = append(out, a)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
