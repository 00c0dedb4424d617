package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opschecks/opschecks/internal/mongodb/codes"
	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

// Check runs the selected mode: it validates the options, connects (which
// pings the server), runs the mode and disconnects. Secrets are removed
// from everything it returns.
func Check(ctx context.Context, o *Options, env plugin.Env) (res *plugin.Result, err error) {
	secrets := uriSecrets(o.URI)
	if o.Password != "" {
		secrets = append(secrets, o.Password)
	}
	defer func() {
		redactResult(res, secrets)
		err = redactError(err, secrets)
	}()

	// The runtime validated the options when it parsed them (Validate).
	mode, ok := modes[o.Mode]
	if !ok {
		return nil, fmt.Errorf("unknown --mode %q", o.Mode)
	}
	pw, pwSet, err := resolvePassword(o)
	if err != nil {
		return nil, err
	}
	if pwSet {
		secrets = append(secrets, pw)
	}
	s, err := connect(ctx, o, credentials{user: o.User, password: pw, passwordSet: pwSet})
	if err != nil {
		return nil, err
	}
	s.secrets = append(s.secrets, secrets...)
	defer func() {
		// Disconnecting is a courtesy to the server; it must not delay
		// the answer. After a timeout, or with less than its 200 ms
		// left, there is no time for it: the driver waits for a
		// connection still reading a stalled server's answer until the
		// context ends (pool.close), which held the check past the
		// runtime's watchdog, and the watchdog answered "timed out
		// without an answer" for a check that knew what it waited for.
		// The sockets close with the process.
		if dl, ok := ctx.Deadline(); errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || ok && time.Until(dl) < 250*time.Millisecond {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 200*time.Millisecond)
		defer cancel()
		s.Close(cctx)
	}()
	res, err = mode.Run(ctx, s, o, env)
	if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		return nil, s.timeout(err)
	}
	if res != nil && env.Verbose >= 2 {
		if o.URI != "" {
			res.Detailf("connection string: %s", StripURIPassword(o.URI))
		}
		res.Detailf("connected to %s (direct: %t) in %.3f s", s.Target, s.Direct, s.ConnectTime.Seconds())
	}
	if err != nil {
		var me *MissingError
		if errors.As(err, &me) {
			return nil, err
		}
		if plugin.StateOf(err) == plugin.Unknown {
			if codes.Is(err, codes.Unauthorized) {
				who := "pass --user and a password"
				if s.User != "" {
					who = "grant user " + s.User + " the clusterMonitor role (and read on the databases for the size modes)"
				}
				err = fmt.Errorf("%s at %s: %w, %s", o.Mode, s.Target, err, who)
			} else {
				err = fmt.Errorf("%s at %s: %w", o.Mode, s.Target, err)
			}
		}
	}
	return res, err
}

// orDefault returns r, or the mode's default when the option is not given.
func orDefault(r *thresholds.Range, def string) *thresholds.Range {
	if r != nil {
		return r
	}
	if def == "" {
		return nil
	}
	d := thresholds.MustParse(def)
	return &d
}

// pair is -w/-c as the pair that judges the mode's main metric,
// each defaulting to the mode's range (def "" for none).
func (o *Options) pair(warn, crit string) thresholds.Pair {
	return thresholds.NewPair(orDefault(o.Warning, warn), orDefault(o.Critical, crit))
}
