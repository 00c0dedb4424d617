package mongodb

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
)

// Default thresholds of connect, the time to connect and ping in seconds.
const (
	defConnectWarn = "1"
	defConnectCrit = "3"
)

func init() {
	register("connect", Mode{Run: modeConnect, Warning: defConnectWarn, Critical: defConnectCrit,
		Doc: "connect, TLS and authentication handshake, ping: the time all that takes, in seconds"})
}

// modeConnect reports what Check already measured: connecting, the
// handshake (with authentication) and a ping. It sends nothing more, so it
// stays as cheap as a bare driver ping.
func modeConnect(ctx context.Context, s *Session, o *Options, env plugin.Env) (*plugin.Result, error) {
	r := connectResult(s.Target, s.ConnectTime.Seconds(), o)
	if env.Verbose > 0 {
		// Only when asked: one more round trip.
		var bi struct {
			Version string `bson:"version"`
		}
		if err := s.RunAdmin(ctx, bson.D{{Key: "buildInfo", Value: 1}}, &bi); err == nil && bi.Version != "" {
			r.Detailf("server version %s", bi.Version)
		}
	}
	return r, nil
}

func connectResult(target string, secs float64, o *Options) *plugin.Result {
	var r plugin.Result
	f := r.Judge(fmt.Sprintf("%s answers ping in %.3f s", target, secs),
		plugin.Perf{Label: "connect_time", Value: secs, UOM: "s", Thresholds: o.pair(defConnectWarn, defConnectCrit), Min: plugin.F(0)})
	if f.State != plugin.OK {
		f.Detailf("connect, handshake and ping took longer than the %s range; look at the server's load (mongostat, serverStatus), at the network path and at DNS resolution of the host", f.State)
	}
	return &r
}
