package main

import (
	"fmt"
	"strings"
)

func nrpe(checks []Check, dir string) string {
	var b strings.Builder
	b.WriteString(header(hashComment, "opschecks: NRPE commands, for nrpe.d/ on the monitored host.", `
Fixed command lines: they work with dont_blame_nrpe=0 (NRPE's safe
default), so the Nagios server cannot pass arguments. Call them with
  check_nrpe -H HOST -c opschecks_numa

Each check also has a commented variant taking its options from the
server ($ARG1$). It needs dont_blame_nrpe=1 in nrpe.cfg, which lets anyone
allowed to connect choose the arguments: enable it only for trusted
servers (allowed_hosts) and only the variants you need. Call it with
  check_nrpe -H HOST -c opschecks_tcp_window_args -a '--local --max-wscale 7'
Debian's and Ubuntu's nrpe are built without argument support and refuse
such requests whatever dont_blame_nrpe says: write fixed lines there.

This file does not set dont_blame_nrpe itself: an included file would
override nrpe.cfg's choice for every other command. NRPE's default, 0,
is what the fixed lines are for.
`))
	for _, c := range checks {
		fmt.Fprintf(&b, "\n# %s: %s\n", c.Name, firstSentence(c.Doc))
		line := dir + "/" + c.Name
		if a := shellArgs(profileOf(c.Name).Example); a != "" {
			line += " " + a
		}
		fmt.Fprintf(&b, "command[%s]=%s\n", c.Command(), line)
		fmt.Fprintf(&b, "#command[%s_args]=%s/%s $ARG1$\n", c.Command(), dir, c.Name)
	}
	return b.String()
}
