package mongodb

import (
	"context"
	"time"
)

// inner is ctx with a deadline a little earlier than its own, for an
// operation whose failure to answer is the check's verdict (the canary
// read, a shard that does not answer): when it runs out, enough of -t is
// left to say which operation did not answer, as CRITICAL, instead of
// the plugin's timeout line. The reserve is a tenth of what is left, at
// most 300 ms.
func inner(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(dl)
	return context.WithDeadline(ctx, dl.Add(-min(left/10, 300*time.Millisecond)))
}
