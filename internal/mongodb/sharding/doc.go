// Package sharding holds what check_mongodb's sharded-cluster modes know
// about a cluster seen through a mongos, without any I/O: the config
// database's documents decoded (package mongodb runs the commands) and
// the verdicts, pure functions of them and the options.
//
// Files:
//   - shards.go: config.shards / listShards decoded (Shard, its replica
//     set and seeds) and the shards verdict on what each shard answered;
//   - balancer.go: balancerStatus, config.settings, the balancer rounds of
//     config.actionlog and the collections excluded from balancing, and
//     the balancer verdict;
//   - chunks.go: config.collections and the chunk counts of config.chunks
//     (by uuid from 5.0, by ns before), and the chunk-balance and
//     jumbo-chunks verdicts.
package sharding
