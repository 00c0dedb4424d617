// Package numa is check_numa: NUMA placement. The machine's node
// topology, the memory policy of large-memory processes (databases want
// `numactl --interleave=all`), vm.zone_reclaim_mode and the per-node
// allocation counters. Everything is read below the --procfs and --sysfs
// mount points, so the same code runs against fixture trees.
//
// Files: options.go (Options, --policy-state); check.go (Check: Gather,
// then Judge); gather.go (Gather: every read of a run, into an
// Observation; the numastat rates through internal/state); judge.go
// (Judge: every verdict, a pure function of the observation and options,
// tested by judge_test's literal table); format.go (names, sizes, node
// lists as the output writes them); topology.go (nodes, meminfo,
// numastat of /sys/devices/system/node); numamaps.go (/proc/PID/numa_maps:
// the policy of the first mapping, the page distribution); nodelist.go
// (the kernel's node list syntax, 0-3,8).
//
// Which processes are watched and what their absence means is
// internal/target's: a watched service that is not running is CRITICAL.
package numa
