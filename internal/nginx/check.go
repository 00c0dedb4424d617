package nginx

import (
	"context"
	"time"

	"github.com/opschecks/opschecks/internal/linux"
	"github.com/opschecks/opschecks/internal/plugin"
)

// CheckName names the state files.
const CheckName = "check_nginx_queue"

// Check runs the check on this host: Gather reads, Judge decides.
func Check(ctx context.Context, o *Options, env plugin.Env) (*plugin.Result, error) {
	obs, err := Gather(ctx, linux.Host, o, time.Now())
	if err != nil {
		return nil, err
	}
	return Judge(obs, o, env.Verbose)
}
