// Package nginx is check_nginx_queue: the kernel accept queues of nginx's
// listening sockets, the listen drops of its network namespace, the
// somaxconn audit and nginx's stub_status page.
//
// Files: options.go (Options, declared once and validated when parsed;
// --listen's type); check.go (Check: the target's sockets and namespace,
// then the findings on queues, the sysctl audit and the drop rates);
// listeners.go (the LISTEN-only sock_diag dump, Selector, Listener and
// its fill); stubstatus.go (the stub_status page: a minimal HTTP/1.0
// client and the parser).
//
// Which nginx is watched (--pid, --pidfile, --process; its workers with
// it) and what its absence means is internal/target's: nginx not running
// is CRITICAL. The drop rates use internal/state's one rate helper.
package nginx
