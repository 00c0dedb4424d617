// Command check_nginx_queue watches the kernel accept queues of nginx's
// listening sockets, the listen drops of its network namespace, the
// somaxconn clipping of its backlog and, optionally, stub_status.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/nginx"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

type options struct {
	plugin.Common
	state.Options
	Port           []string         `short:"p" long:"port" value-name:"PORT" description:"Check the listeners on this TCP port (repeatable)"`
	Listen         []string         `short:"l" long:"listen" value-name:"ADDR:PORT" description:"Check the listener serving this address, e.g. 127.0.0.1:8080, [::]:443, *:80 (repeatable)"`
	PID            plugin.PID       `long:"pid" value-name:"PID" description:"Check the listening sockets of this nginx master and its workers"`
	Pidfile        string           `long:"pidfile" value-name:"FILE" description:"Like --pid, with the PID read from nginx's pid file (e.g. /run/nginx.pid)"`
	Process        string           `long:"process" value-name:"NAME" description:"Like --pid, for every process with this name (e.g. nginx)"`
	Warning        thresholds.Range `short:"w" long:"warning" default:"50" value-name:"RANGE" description:"Warning range for accept queue fill in percent of the backlog"`
	Critical       thresholds.Range `short:"c" long:"critical" default:"90" value-name:"RANGE" description:"Critical range for accept queue fill in percent of the backlog"`
	DropsWarning   thresholds.Range `long:"drops-warning" default:"0" value-name:"RANGE" description:"Warning range for dropped connections per second (kernel listen drops, nginx accepts-handled)"`
	DropsCritical  thresholds.Range `long:"drops-critical" default:"10" value-name:"RANGE" description:"Critical range for dropped connections per second"`
	ExpectBacklog  int              `long:"expect-backlog" value-name:"N" description:"Warn when a listener's effective backlog is below N (clipped by net.core.somaxconn or not set in nginx)"`
	StatusURL      string           `long:"status-url" value-name:"URL" description:"nginx stub_status URL (http or https), e.g. http://127.0.0.1/nginx_status"`
	StatusInsecure bool             `long:"status-insecure" description:"Do not verify the TLS certificate of --status-url"`
}

func main() {
	var o options
	plugin.Main(plugin.Spec{Name: "check_nginx_queue", Label: "NGINX_QUEUE",
		Doc: "Checks the kernel accept queue of nginx's listening sockets (sock_diag), the listen drops of its network namespace, the somaxconn clipping of its backlog, and optionally nginx's stub_status."},
		&o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			return nginx.Check(ctx, nginx.Config{Ports: o.Port, Listens: o.Listen, PID: int(o.PID), Pidfile: o.Pidfile, Process: o.Process,
				Warn: o.Warning, Crit: o.Critical, DropsWarn: o.DropsWarning, DropsCrit: o.DropsCritical, ExpectBacklog: o.ExpectBacklog,
				StatusURL: o.StatusURL, StatusInsecure: o.StatusInsecure, StateDir: o.StateDir}, env)
		})
}
