// Command check_mongodb is a Nagios/Icinga plugin for MongoDB: reachability
// and authentication, server health, startup warnings and replica sets.
package main

import (
	"context"

	"github.com/opschecks/opschecks/internal/mongodb"
	"github.com/opschecks/opschecks/internal/plugin"
)

type options struct {
	plugin.Common
	mongodb.Options
}

func main() {
	var opts options
	plugin.Main(plugin.Spec{
		Name:  "check_mongodb",
		Label: "MONGODB",
		Doc: "Checks a MongoDB server through the official driver: connection time (with TLS and authentication), " +
			"connection use, memory, WiredTiger cache, queues, operation and assert rates, database, collection and " +
			"index sizes, startup warnings (NUMA, transparent huge pages, zone reclaim...) and the replica-set modes. " +
			"The password comes from --password-file or MONGODB_PASSWORD and never appears in the output.",
	}, &opts, func(ctx context.Context, env plugin.Env) (*plugin.Result, error) {
		return mongodb.Check(ctx, &opts.Options, env)
	})
}
