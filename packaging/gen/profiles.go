package main

// profile is what the options cannot tell about a check: how it is
// usually run and whether it needs privilege.
type profile struct {
	// Example are arguments that give a meaningful answer on any host; the
	// example services and the fixed NRPE command lines use them. Every
	// option named here must exist in the binary, or generation fails.
	Example []string
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

// profiles of the known checks; a check not listed gets no example
// arguments, is local and gets no sudoers rule (least privilege).
var profiles = map[string]profile{
	"check_mongodb": {
		Example:    []string{"-H", "127.0.0.1"},
		Remote:     true,
		HostOption: "host",
		Env:        map[string]string{"password": "MONGODB_PASSWORD"},
	},
	"check_nginx_queue": {
		Example:    []string{"--port", "80"},
		Privileged: "maps nginx's listening sockets to its processes (--pid, --pidfile, --process) through /proc/PID/fd of nginx's master, owned by root, and enters nginx's network namespace when it differs",
	},
	"check_keepalive": {
		Privileged: "reads the sockets of processes owned by other users (--pid, --process: /proc/PID/fd) and enters their network namespace (/proc/PID/ns/net)",
	},
	"check_tcp_window": {
		// Sysctls, its own probe socket and sock_diag: no privilege.
		Example: []string{"--local"},
	},
	"check_conntrack": {
		// The host's table needs no privilege (the sysctls and
		// /proc/net/stat/nf_conntrack are world-readable); the rates need
		// the packages' state directory.
		Privileged: "enters the network namespace of a container (--pid, --pidfile, --process: /proc/PID/ns/net) or a named one (--netns: /run/netns/NAME), which needs CAP_SYS_ADMIN",
	},
	"check_numa": {
		Privileged: "reads /proc/PID/numa_maps of database processes owned by other users",
	},
}

func profileOf(name string) profile { return profiles[name] }
