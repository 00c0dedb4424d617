package main

import (
	"fmt"
	"strings"
)

// nagiosEscape escapes what Nagios' object parser treats specially in a
// directive value: ';' starts a comment, '!' separates arguments.
func nagiosEscape(s string) string {
	return strings.NewReplacer(`;`, `\;`, `!`, `\!`).Replace(s)
}

func nagiosCommandLine(c Check) string {
	line := "$USER1$/" + c.Name
	if p := profileOf(c.Name); p.Remote {
		o, _ := c.Option(p.HostOption)
		flag := "--" + o.Long
		if o.Short != "" {
			flag = "-" + o.Short
		}
		line += " " + flag + " '$HOSTADDRESS$'"
	}
	return line + " $ARG1$"
}

func nagiosCommands(checks []Check) string {
	var b strings.Builder
	b.WriteString(header(hashComment, "opschecks: Nagios command definitions, one per check.", `
$USER1$ is the plugin directory (resource.cfg): /usr/lib/nagios/plugins on
Debian, /usr/lib64/nagios/plugins on RPM systems. A check's options go in
$ARG1$, for example: check_command opschecks_tcp_window!--local --max-wscale 7
Checks that look at the local kernel (all but check_mongodb) run on the
monitored host: use check_nrpe with the NRPE snippet there
(check_command check_nrpe!opschecks_numa).
`))
	for _, c := range checks {
		fmt.Fprintf(&b, "\n# %s: %s\n", c.Name, c.Label)
		b.WriteString(commentLines("# ", strings.TrimSpace(c.Doc)))
		b.WriteString("# Options for $ARG1$:\n")
		for _, o := range c.Options {
			if skipped[o.Long] {
				continue
			}
			if s := optionSummary(o); len(s) > 28 {
				fmt.Fprintf(&b, "#   %s\n#   %-28s %s\n", s, "", optionDescription(o))
			} else {
				fmt.Fprintf(&b, "#   %-28s %s\n", s, optionDescription(o))
			}
		}
		fmt.Fprintf(&b, "define command {\n    command_name    %s\n    command_line    %s\n}\n", c.Command(), nagiosCommandLine(c))
	}
	return b.String()
}

func nagiosServices(checks []Check) string {
	var b strings.Builder
	b.WriteString(header(hashComment, "opschecks: example Nagios services, one per check, on the host \"localhost\".", `
The arguments give a meaningful answer on any host; adapt thresholds and
targets. Remote hosts: run the local checks through NRPE instead, e.g.
  check_command   check_nrpe!opschecks_numa
`))
	for _, c := range checks {
		args := profileOf(c.Name).Example
		if profileOf(c.Name).Remote {
			args = withoutHost(c, args)
		}
		cc := c.Command()
		if len(args) > 0 {
			cc += "!" + nagiosEscape(shellArgs(args))
		}
		fmt.Fprintf(&b, "\ndefine service {\n    use                     generic-service\n    host_name               localhost\n    service_description     %s\n    check_command           %s\n}\n",
			c.Command(), cc)
	}
	return b.String()
}

// withoutHost drops the host option from example arguments: the Nagios
// command passes $HOSTADDRESS$ itself.
func withoutHost(c Check, args []string) []string {
	o, _ := c.Option(profileOf(c.Name).HostOption)
	var res []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--"+o.Long || (o.Short != "" && a == "-"+o.Short) {
			i++
			continue
		}
		if strings.HasPrefix(a, "--"+o.Long+"=") {
			continue
		}
		res = append(res, a)
	}
	return res
}
