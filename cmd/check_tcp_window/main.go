// Command check_tcp_window finds broken TCP window scaling: the local
// sysctls, a live probe's TCP_INFO, or the established connections.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/tcpwindow"
)

type options struct {
	plugin.Common
	tcpwindow.Options
}

func main() {
	var o options
	plugin.Main(plugin.Spec{Name: "check_tcp_window", Label: "TCP_WINDOW",
		Doc: "Finds broken TCP window scaling: a middlebox that strips or rewrites the window-scale option, or local settings that cap the window."},
		&o, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			return tcpwindow.Check(ctx, &o.Options, env)
		})
}
