// Package docs holds the tests that keep the documentation true to the
// binaries. Every command line of a check in README.md and in the files
// packaging/gen writes (the example Nagios services, NRPE commands and
// Icinga 2 services, the man pages' EXAMPLES) is run: with
// --validate-options, which parses and validates it as a real run would
// and stops there, or for real where the README shows what it prints.
// Every option and every --mode the README names exists with that
// spelling, and the README's tables of modes give exactly the modes the
// binary registers, with their default thresholds. Every output the
// README shows is what its command printed in a scenario that makes it
// happen for real (FerretDB, the replica-set and sharded-cluster
// simulator answering with real servers' replies, nginx, network
// namespaces with held connections, a window-scale-stripping middlebox,
// a filled conntrack table); -update writes them into the README.
//
// The extraction knows no check by name: the binaries are the
// directories cmd/check_*, their options and modes come from
// --emit-options-json, and the Nagios and NRPE commands from the
// generated files, so a new check, option, mode or README section is
// checked without an edit here.
//
// Files: extract_test.go (Markdown, roff and configuration text into
// units; shell words; a unit into the invocations of our checks),
// binaries_test.go (the built checks, their options and modes, the
// generated commands), readme_test.go (command lines, options, modes),
// outputs_test.go (the outputs: an example's run, names, volatile
// values, -update), examples_mongodb_test.go and examples_linux_test.go
// (the scenario of each README output), main_test.go (this test binary
// run as a "postgres" or "mongod" process).
package docs
