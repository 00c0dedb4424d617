// fakecheck exercises the plugin runtime from the tests: each --behave
// value makes the check do one thing a real check might.
package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/thresholds"
)

type options struct {
	plugin.Common
	Warning  *thresholds.Range `short:"w" long:"warning" description:"Warning range"`
	Critical *thresholds.Range `short:"c" long:"critical" default:"90" description:"Critical range"`
	Value    float64           `long:"value" default:"1" description:"Value to evaluate"`
	Behave   string            `short:"b" long:"behave" default:"ok" choice:"ok" choice:"hang" choice:"syscall" choice:"panic" choice:"error" choice:"verdict" choice:"ctx" choice:"dupperf"`
	Mode     string            `long:"mode" default:"plain" description:"How the value is judged"`
	Note     string            `short:"n" long:"note" value-name:"TEXT" description:"Free text, unused: a plain string option"`
}

// Modes registers the --mode values as check_mongodb's modes do.
func (o *options) Modes() []plugin.ModeDoc {
	return []plugin.ModeDoc{
		{Name: "plain", Doc: "the value as given", Critical: "90"},
		{Name: "doubled", Doc: "twice the value, a mode whose line is long enough to be wrapped by the help at eighty columns", Warning: "10:", Critical: "~:20"},
	}
}

// Validate refuses a combination, as a check's options do.
func (o *options) Validate() error {
	if o.Value < -1000 && o.Behave == "ok" {
		return errors.New("--value below -1000 needs a --behave other than ok")
	}
	return nil
}

func main() {
	var o options
	plugin.Main(plugin.Spec{Name: "check_fake", Label: "FAKE", Doc: "A fake check for the runtime's tests."}, &o,
		func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
			switch o.Behave {
			case "hang":
				select {} // ignores its context
			case "syscall":
				// Blocked in a read that no context can interrupt.
				var fds [2]int
				_ = syscall.Pipe(fds[:])
				buf := make([]byte, 1)
				_, _ = syscall.Read(fds[0], buf)
			case "panic":
				var m map[string]int
				m["x"] = 1
			case "error":
				return nil, errors.New("cannot read /nonexistent: no such file")
			case "verdict":
				return nil, plugin.Errorf(plugin.Critical, "nothing listens on 127.0.0.1:1")
			case "ctx":
				<-ctx.Done()
				return nil, ctx.Err()
			}
			if o.Mode == "doubled" {
				o.Value *= 2
			}
			var r plugin.Result
			p := plugin.Perf{Label: "value", Value: o.Value, Thresholds: thresholds.NewPair(o.Warning, o.Critical)}
			if o.Value >= 0 {
				p.Min = plugin.F(0)
			}
			r.Judge("value is "+time.Duration(o.Value).String(), p)
			r.Add(plugin.OK, "second finding").Detailf("argument count %d", len(os.Args))
			if o.Behave == "dupperf" {
				r.Add(plugin.OK, "dup", plugin.Perf{Label: "value", Value: 1})
			}
			return &r, nil
		})
}
