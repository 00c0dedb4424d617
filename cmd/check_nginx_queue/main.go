// Command check_nginx_queue watches the kernel accept queues of nginx's
// listening sockets, the listen drops of its network namespace, the
// somaxconn clipping of its backlog and, optionally, stub_status.
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
		Doc: "Checks the kernel accept queue of nginx's listening sockets (sock_diag), the listen drops of its network namespace, the somaxconn clipping of its backlog, and optionally nginx's stub_status. With --pid or --pidfile it watches that nginx master and its workers."},
		&o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			return nginx.Check(ctx, &o.Options, env)
		})
}
