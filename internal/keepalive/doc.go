// Package keepalive is check_keepalive: TCP keepalive against the idle
// timeout of a NAT device or load balancer in the path, in the network
// namespace that matters, host-wide (the sysctls) and per established
// socket (its keepalive timer and idle time).
//
// Files: options.go (Options, the --idle-timeout type and its presets);
// gather.go (Gather: the target's namespace, its sysctls, the socket
// audit; the Observation); sockets.go (Filter and Audit, which classifies
// each socket); judge.go (Judge: the verdicts, pure functions of the
// observation and options).
//
// Gather, then judge, with one exception: the per-socket audit classifies
// each socket while the kernel's sock_diag replies stream in, keeping
// counters and five examples of each kind, instead of returning the
// sockets for the judge. With 200,000 established sockets a list of them
// would cost tens of MiB and its own pass; the classification (Audit.Add)
// is a pure function of the socket and the idle timeout, tested on its
// own, and the verdicts on its counts are in judge.go.
package keepalive
