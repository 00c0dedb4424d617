package keepalive

import (
	"strings"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// TestJudge: every verdict of check_keepalive from a literal observation
// and options; nothing is read.
func TestJudge(t *testing.T) {
	own := Namespace{Desc: "the check's own network namespace (net:[1])"}
	other := Namespace{Desc: "the network namespace of PID 42 (net:[2])", Enter: "nsenter --net=/proc/42/ns/net "}
	linuxDefault := Sysctls{Time: 7200, Intvl: 75, Probes: 9}
	tuned := Sysctls{Time: 60, Intvl: 10, Probes: 3}
	tests := []struct {
		name  string
		obs   Observation
		args  []string
		state plugin.State
		lines []string
	}{
		{"kernel default behind a 90 s NAT", Observation{Namespace: own, Sysctls: linuxDefault}, nil, plugin.Critical,
			[]string{"KEEPALIVE CRITICAL - keepalive probe gap 7200s (tcp_keepalive_time) >= idle timeout 90s in the check's own network namespace (net:[1])",
				"tcp_keepalive_time=7200s;;89;0", "keepalive_detect_time=7875s;;;0", "fix for this namespace: sysctl -w net.ipv4.tcp_keepalive_time=30 net.ipv4.tcp_keepalive_intvl=30",
				"printf 'net.ipv4.tcp_keepalive_time = 30"}},
		{"another namespace: the fix enters it", Observation{Namespace: other, Sysctls: linuxDefault}, nil, plugin.Critical,
			[]string{"in the network namespace of PID 42 (net:[2])", "fix for this namespace: nsenter --net=/proc/42/ns/net sysctl -w", "docker run --sysctl net.ipv4.tcp_keepalive_time=30"}},
		{"tuned", Observation{Namespace: own, Sysctls: tuned}, nil, plugin.OK,
			[]string{"KEEPALIVE OK - keepalive probe gap 60s < idle timeout 90s in the check's own network namespace (net:[1])"}},
		{"the interval is the gap when longer", Observation{Namespace: own, Sysctls: Sysctls{Time: 60, Intvl: 300, Probes: 3}}, []string{"--idle-timeout", "aws-nat"}, plugin.OK,
			[]string{"keepalive probe gap 300s < idle timeout 350s (aws-nat)"}},
		{"gap equal to the timeout", Observation{Namespace: own, Sysctls: tuned}, []string{"--idle-timeout", "60"}, plugin.Critical,
			[]string{"keepalive probe gap 60s (tcp_keepalive_time) >= idle timeout 60s"}},
		{"dead peer detected too late", Observation{Namespace: own, Sysctls: tuned}, []string{"--max-detect", "1m"}, plugin.Warning,
			[]string{"KEEPALIVE WARNING - a dead peer is detected after 90s (tcp_keepalive_time + tcp_keepalive_intvl * tcp_keepalive_probes) > --max-detect 60s", "keepalive_detect_time=90s;60;;0"}},
		{"sockets at risk warn", Observation{Namespace: own, Sysctls: tuned, Scope: " of sshd (PID 812)", Audit: &Audit{Total: 10, NoKeepalive: 4, LongGap: 1, AtRisk: 2}}, nil, plugin.Warning,
			[]string{"KEEPALIVE WARNING - 10 established sockets of sshd (PID 812): 4 without keepalive, 1 with a keepalive timer above 90s, 2 idle longer than 90s",
				"sockets_at_risk=2;1;;0", "fix in the application: enable SO_KEEPALIVE"}},
		{"sockets at risk, critical range", Observation{Namespace: own, Sysctls: tuned, Audit: &Audit{Total: 10, AtRisk: 5}}, []string{"-c", "4"}, plugin.Critical,
			[]string{"KEEPALIVE CRITICAL - 10 established sockets: 0 without keepalive, 0 with a keepalive timer above 90s, 5 idle longer than 90s", "sockets_at_risk=5;1;4;0"}},
		{"conntrack preset: the namespace's own timeout", Observation{Namespace: other, Sysctls: tuned, ConntrackTimeout: 45, Audit: &Audit{Total: 2}}, []string{"--idle-timeout", "conntrack"}, plugin.Critical,
			[]string{"KEEPALIVE CRITICAL - keepalive probe gap 60s (tcp_keepalive_time) >= idle timeout 45s (conntrack, nf_conntrack_tcp_timeout_established) in the network namespace of PID 42 (net:[2])",
				"idle_timeout=45s;;;0", "with a keepalive timer above 45s (conntrack, nf_conntrack_tcp_timeout_established)", "sysctl -w net.ipv4.tcp_keepalive_time=15",
				"or keep idle flows tracked longer in this namespace: nsenter --net=/proc/42/ns/net sysctl -w net.netfilter.nf_conntrack_tcp_timeout_established=432000"}},
		{"conntrack preset without connection tracking", Observation{Namespace: own, Sysctls: linuxDefault, NoConntrack: true}, []string{"--idle-timeout", "conntrack"}, plugin.OK,
			[]string{"keepalive probe gap 7200s < idle timeout 432000s (conntrack) in", "the kernel tracks no connections in the check's own network namespace (net:[1])"}},
		{"a read timeout is for the conntrack preset only", Observation{Namespace: own, Sysctls: tuned, ConntrackTimeout: 45}, []string{"--idle-timeout", "90"}, plugin.OK,
			[]string{"keepalive probe gap 60s < idle timeout 90s in"}},
		{"filtered sockets all kept alive", Observation{Namespace: own, Sysctls: tuned, Audit: &Audit{Total: 3, Busy: 1}}, []string{"--port", "5432"}, plugin.OK,
			[]string{"3 established sockets matching the filter: 0 without keepalive", "1 sockets had a retransmit or window probe timer pending"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := plugin.Render("KEEPALIVE", Judge(&tt.obs, testenv.ParseOptions[Options](t, tt.args...)))
			if st != tt.state {
				t.Errorf("state %s, want %s\n%s", st, tt.state, out)
			}
			for _, l := range tt.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
		})
	}
}
