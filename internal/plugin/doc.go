// Package plugin is the runtime every opschecks binary shares: common
// options, the timeout watchdog, and the turning of a Result into the
// plugin output and exit code. Checks build Results; only this package
// prints and exits.
//
// Files: run.go (Main: parse, validate, run under the watchdog, print
// once; the Validator hook for options checked together;
// --validate-options stops after validating); options.go
// (Common, and the option types every check uses: Duration,
// TimeoutState, Int, Port, Prefix, OptionError); choices.go (options
// with go-flags choice tags: taken in any case, refused in the suite's
// words, listed in --help and the man page); modes.go (Moded: --mode
// values that register themselves, their choices and their list in
// --help); result.go (Result, Finding,
// Perf with the thresholds pair that judges it, Render); emit.go (the
// options as JSON for the generators under packaging/).
package plugin
