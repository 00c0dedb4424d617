package numa

import (
	"context"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Check runs the check on this host: Gather reads, Judge decides.
func Check(ctx context.Context, o *Options, _ plugin.Env) (*plugin.Result, error) {
	obs, err := Gather(ctx, o.Mounts.FS(), o, time.Now())
	if err != nil {
		return nil, err
	}
	return Judge(obs, o), nil
}
