// Package nginx is check_nginx_queue: the kernel accept queues of nginx's
// listening sockets and the drops of its network namespace, the SYN queue
// (its TcpExt counters and, asked for, each listener's SYN_RECV sockets),
// the CPUs' receive backlogs (softnet, host-wide), the workers' file
// descriptors against RLIMIT_NOFILE, the somaxconn audit and nginx's
// stub_status page (nginx's and its forks').
//
// Files: options.go (Options, declared once and validated when parsed,
// the status page's and capacity options, --listen's type);
// options_syn.go (SynSide: the SYN queue's options); options_host.go
// (HostSide: softnet and the workers' files); check.go (Check: Gather,
// then Judge); gather.go (Gather: every read of a run into an
// Observation, the rates through internal/state); judge.go (Judge and
// the verdicts on queues, audit, drops and the status page); judge_syn.go
// (the SYN queue's verdicts); judge_host.go (softnet's and the workers'
// verdicts). Every verdict is a pure function of the observation and
// options, tested by judge_test's literal tables. listeners.go (the
// LISTEN-only and SYN_RECV-only sock_diag dumps, Selector, Listener and
// its fill); stubstatus.go (the stub_status parser, by the names the page
// prints); fetch.go (a minimal HTTP/1.0 client for the status page, over
// TLS for https, and its failures).
//
// Which nginx is watched (--pid, --pidfile, --process; its workers with
// it) and what its absence means is internal/target's: nginx not running
// is CRITICAL.
package nginx
