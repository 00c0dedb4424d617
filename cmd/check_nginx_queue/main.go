// Command check_nginx_queue watches the kernel accept queues of nginx's
// listening sockets and what fills them: listen and SYN queue drops,
// softnet drops, the workers' open files, the somaxconn clipping of the
// backlog and, optionally, stub_status.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/nginx"
	"github.com/opschecks/opschecks/internal/plugin"
)

type options struct {
	plugin.Common
	nginx.Options
}

func main() {
	var o options
	plugin.Main(plugin.Spec{Name: "check_nginx_queue", Label: "NGINX_QUEUE",
		Doc: "Checks the kernel accept queues of nginx's listening sockets (sock_diag) and the listen drops of their network namespace, the SYN queue (TcpExt SYN drops and syncookies; with --syn-recv each listener's half-open connections), the CPUs' receive backlog drops (softnet, host-wide), the somaxconn clipping of the backlog, the workers' open files against RLIMIT_NOFILE, and optionally the stub_status page of nginx or a fork (Tengine, Angie, freenginx). With --pid, --pidfile or --process it watches that nginx master and its workers."},
		&o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			return nginx.Check(ctx, &o.Options, env)
		})
}
