module github.com/opschecks/opschecks/bench/deps

go 1.26.8

require (
	github.com/mdlayher/netlink v1.11.2
	github.com/opschecks/opschecks v0.0.0
	github.com/prometheus/procfs v0.23.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mdlayher/socket v0.6.0 // indirect
	golang.org/x/net v0.53.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace github.com/opschecks/opschecks => ../..
