package main

// profile is what the options cannot tell about a check: how it is
// usually run and whether it needs privilege.
type profile struct {
	// Example are arguments that give a meaningful answer on any host; the
	// example services and the fixed NRPE command lines use them. Every
	// option named here must exist in the binary, or generation fails.
	Example []string
	// Examples are the man page's EXAMPLES: command lines as a reader
	// adapts them, each with what it does. Checked like Example, and run
	// with --validate-options by tests/docs.
	Examples []example
	// Remote checks talk to a server over the network, so the Nagios
	// command passes the host's address in HostOption (the conventional
	// -H '$HOSTADDRESS$') and Icinga 2 defaults it to $check_address$.
	// The others read the local kernel and run through NRPE or an Icinga
	// agent on the monitored host.
	Remote     bool
	HostOption string
	// Privileged says why the check needs root for some of its work; a
	// sudoers rule is written for it. Empty: no rule.
	Privileged string
	// Env maps options to environment variables the binary reads instead
	// (secrets): Icinga 2 passes them in the CheckCommand's env, so they
	// never show in the process list.
	Env map[string]string
}

// example is one command line of the man page's EXAMPLES.
type example struct {
	Args []string
	What string
}

// profiles of the known checks; a check not listed gets no example
// arguments, is local and gets no sudoers rule (least privilege).
var profiles = map[string]profile{
	"check_mongodb": {
		Example: []string{"-H", "127.0.0.1"},
		Examples: []example{
			{[]string{"-H", "db1", "-u", "nagios", "--password-file", "/etc/nagios/mongodb.pw"},
				"Connect to db1 as user nagios (password in the file), TLS and authentication included, and ping: WARNING after 1 s, CRITICAL after 3 s."},
			{[]string{"--uri", "mongodb://db1,db2,db3/?replicaSet=rs0", "--mode", "replication-lag", "-w", "30", "-c", "120"},
				"How far each member of replica set rs0 is behind the primary: WARNING above 30 s, CRITICAL above 120 s."},
			{[]string{"-H", "db2", "--mode", "replication-lag", "--member", "self"},
				"Only the lag of the secondary db2, from db2 itself."},
			{[]string{"-H", "db1", "--mode", "oplog-window", "-w", "48:", "-c", "12:"},
				"WARNING when the oplog holds less than 48 hours, CRITICAL below 12."},
			{[]string{"-H", "db1", "--mode", "read", "--database", "shop", "--collection", "canary", "--filter", `{"_id": "canary"}`},
				"A read that must get through: find the canary document, CRITICAL when it is refused, missing or slow."},
			{[]string{"-H", "db1", "--mode", "startup-warnings", "--ignore-id", "22184"},
				"The startup warnings that slow a database (NUMA, transparent huge pages, zone reclaim), without the open-files one."},
		},
		Remote:     true,
		HostOption: "host",
		Env:        map[string]string{"password": "MONGODB_PASSWORD"},
	},
	"check_nginx_queue": {
		Example: []string{"--port", "80"},
		Examples: []example{
			{[]string{"--port", "80", "--port", "443"}, "The accept queues of the listeners on ports 80 and 443 and the listen drops, as any user."},
			{[]string{"--pidfile", "/run/nginx.pid", "--status-url", "http://127.0.0.1/nginx_status"},
				"The listening sockets of the nginx whose master the pid file names (root, or the sudo rule), its stub_status, and CRITICAL when it is not running."},
			{[]string{"--port", "80", "--expect-backlog", "4096"}, "WARNING when the backlog of a listener on port 80 is below 4096 (clipped by net.core.somaxconn, or never asked for)."},
		},
		Privileged: "maps nginx's listening sockets to its processes (--pid, --pidfile, --process) through /proc/PID/fd of nginx's master, owned by root, and enters nginx's network namespace when it differs",
	},
	"check_keepalive": {
		Examples: []example{
			{nil, "The keepalive sysctls of the check's own network namespace against the default idle timeout, 90 s."},
			{[]string{"--idle-timeout", "aws-nat", "--process", "postgres"},
				"The network namespace and the established sockets of every postgres process, against the 350 s of an AWS NAT gateway."},
			{[]string{"--remote", "10.20.0.0/16", "--port", "5432", "--idle-timeout", "350", "-w", "0", "-c", "10"},
				"The sockets to port 5432 of hosts in 10.20.0.0/16: WARNING for any at risk, CRITICAL above 10."},
		},
		Privileged: "reads the sockets of processes owned by other users (--pid, --process: /proc/PID/fd) and enters their network namespace (/proc/PID/ns/net)",
	},
	"check_tcp_window": {
		// Sysctls, its own probe socket and sock_diag: no privilege.
		Example: []string{"--local"},
		Examples: []example{
			{[]string{"--local", "--max-wscale", "7"}, "The window-scaling sysctls; WARNING when this host advertises a shift above 7."},
			{[]string{"-H", "192.0.2.10", "-p", "25"}, "A live probe of an SMTP server (it speaks first): CRITICAL when the window-scale option is mangled on the path."},
			{[]string{"-H", "192.0.2.10", "-p", "80", "--send", "HEAD / HTTP/1.0"}, "The same for a server that waits for the client: the ACK of what is sent carries the peer's window."},
			{[]string{"--established", "--remote", "10.0.0.0/8"}, "The established connections to 10.0.0.0/8 that show a mangled or missing window scale."},
		},
	},
	"check_conntrack": {
		Examples: []example{
			{nil, "The connection-tracking table of the check's own network namespace: WARNING above 80 % full, CRITICAL above 90 %, any drop warns."},
			{[]string{"-w", "70", "-c", "85", "--drop-critical", "10"}, "Earlier alerts (above 70 % and 85 %), and CRITICAL above 10 drops per second."},
		},
		// The host's table needs no privilege (the sysctls and
		// /proc/net/stat/nf_conntrack are world-readable); the rates need
		// the packages' state directory.
		Privileged: "enters the network namespace of a container (--pid, --pidfile, --process: /proc/PID/ns/net) or a named one (--netns: /run/netns/NAME), which needs CAP_SYS_ADMIN",
	},
	"check_numa": {
		Examples: []example{
			{nil, "The NUMA topology, vm.zone_reclaim_mode and numa_miss; OK on a machine with one memory node."},
			{[]string{"--process", "mongod"}, "WARNING when a mongod runs without numactl --interleave=all on a NUMA machine."},
			{[]string{"--pidfile", "/run/mysqld/mysqld.pid", "--distribution", "-w", "30", "-c", "60"},
				"The pages of mysqld per node: WARNING when they are more than 30 % out of balance, CRITICAL above 60 %."},
		},
		Privileged: "reads /proc/PID/numa_maps of database processes owned by other users",
	},
}

func profileOf(name string) profile { return profiles[name] }
