module github.com/opschecks/opschecks

go 1.26.8

require (
	github.com/atc0005/go-nagios v0.20.0
	github.com/jessevdk/go-flags v1.6.1
	golang.org/x/sys v0.38.0
)
