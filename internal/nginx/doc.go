// Package nginx is check_nginx_queue: the kernel accept queues of nginx's
// listening sockets, the listen drops of its network namespace, the
// somaxconn audit and nginx's stub_status page.
//
// Files: options.go (Options, declared once and validated when parsed;
// --listen's type); check.go (Check: Gather, then Judge); gather.go
// (Gather: every read of a run into an Observation, the rates through
// internal/state); judge.go (Judge: every verdict, a pure function of the
// observation and options, tested by judge_test's literal tables);
// listeners.go (the LISTEN-only sock_diag dump, Selector, Listener and
// its fill); stubstatus.go (the stub_status parser); fetch.go (a minimal
// HTTP/1.0 client for the status page and its failures).
//
// Which nginx is watched (--pid, --pidfile, --process; its workers with
// it) and what its absence means is internal/target's: nginx not running
// is CRITICAL.
package nginx
