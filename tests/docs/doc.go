// Package docs holds the tests that keep the documentation true to the
// binaries. Every command line of a check in README.md and in the files
// packaging/gen writes (the example Nagios services, NRPE commands and
// Icinga 2 services, the man pages' EXAMPLES) is run: with
// --validate-options, which parses and validates it as a real run would
// and stops there, or for real where the README shows what it prints.
// Every option and every --mode the README names exists with that
// spelling, and the README's tables of modes give exactly the modes the
// binary registers, with their default thresholds.
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
// generated commands), readme_test.go (the tests).
package docs
