// Package hardening holds the suite that holds every binary to the plugin
// contract: bad input, faults, timeouts, privileges, secrets and the
// output format, table-driven across all checks in cmd/.
package hardening
