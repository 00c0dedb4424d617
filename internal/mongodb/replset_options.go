package mongodb

// ReplOptions are the options of the replica-set modes; embedded in
// Options.
type ReplOptions struct{}
