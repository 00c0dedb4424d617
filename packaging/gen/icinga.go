package main

import (
	"fmt"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
)

func icingaString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

func icingaVar(c Check, o plugin.OptionDoc) string {
	n := o.Long
	if n == "" {
		n = o.Short
	}
	return c.Command() + "_" + strings.ReplaceAll(n, "-", "_")
}

func icingaKey(o plugin.OptionDoc) string {
	if o.Long != "" {
		return "--" + o.Long
	}
	return "-" + o.Short
}

func icingaCommands(checks []Check) string {
	var b strings.Builder
	b.WriteString(header(blockComment, "opschecks: Icinga 2 CheckCommand definitions, one per check.", `
Include this file after the ITL and its plugins (icinga2.conf):
  include <itl>
  include <plugins>
  include "/usr/share/opschecks/icinga2/opschecks-commands.conf"
PluginDir is the plugin directory the ITL defines (constants.conf).
Every option of a check is a custom variable named after the command,
e.g. vars.opschecks_tcp_window_local = true; unset variables leave the
binary's defaults in force. Booleans use set_if; repeatable options
take an array.
`))
	for _, c := range checks {
		fmt.Fprintf(&b, "\n/* %s: %s */\n", c.Name, firstSentence(c.Doc))
		fmt.Fprintf(&b, "object CheckCommand %s {\n", icingaString(c.Command()))
		p := profileOf(c.Name)
		if p.Remote {
			b.WriteString("\timport \"ipv4-or-ipv6\"\n\n")
		}
		fmt.Fprintf(&b, "\tcommand = [ PluginDir + %s ]\n\n", icingaString("/"+c.Name))
		b.WriteString("\targuments = {\n")
		var env []string
		for _, o := range c.Options {
			if skipped[o.Long] {
				continue
			}
			if e, ok := p.Env[o.Long]; ok {
				env = append(env, fmt.Sprintf("\t\t%s = %s /* --%s */\n", e, icingaString("$"+icingaVar(c, o)+"$"), o.Long))
				continue
			}
			fmt.Fprintf(&b, "\t\t%s = {\n", icingaString(icingaKey(o)))
			if o.Bool {
				fmt.Fprintf(&b, "\t\t\tset_if = %s\n", icingaString("$"+icingaVar(c, o)+"$"))
			} else {
				fmt.Fprintf(&b, "\t\t\tvalue = %s\n", icingaString("$"+icingaVar(c, o)+"$"))
			}
			if o.Required {
				b.WriteString("\t\t\trequired = true\n")
			}
			fmt.Fprintf(&b, "\t\t\tdescription = %s\n", icingaString(optionDescription(o)))
			b.WriteString("\t\t}\n")
		}
		b.WriteString("\t}\n")
		if len(env) > 0 {
			b.WriteString("\n\t/* Secrets go in the environment, not the process list. */\n\tenv = {\n")
			for _, e := range env {
				b.WriteString(e)
			}
			b.WriteString("\t}\n")
		}
		if p.Remote {
			o, _ := c.Option(p.HostOption)
			fmt.Fprintf(&b, "\n\tvars.%s = \"$check_address$\"\n", icingaVar(c, o))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func icingaServices(checks []Check) string {
	var b strings.Builder
	b.WriteString(header(blockComment, "opschecks: example Icinga 2 services, one per check.", `
The local checks read the kernel of the host they run on, so they must
run on the monitored host itself: on a host with an Icinga 2 agent, set
vars.agent_endpoint to the name of the agent's Endpoint (by convention
the host's name) and command_endpoint sends the check there. They also
apply to the host this Icinga 2 runs on (NodeName), where they run
locally. Checks of a server over the network run where they are
scheduled, against the host's address. The CheckCommands must be known
on every agent too: include opschecks-commands.conf there as well, or
put it in a global zone (README, "Icinga 2").
`))
	for _, c := range checks {
		args, _ := exampleArgs(c)
		fmt.Fprintf(&b, "\napply Service %s {\n", icingaString(c.Command()))
		fmt.Fprintf(&b, "\tcheck_command = %s\n", icingaString(c.Command()))
		p := profileOf(c.Name)
		for _, a := range args {
			if p.Remote && a.Opt.Long == p.HostOption {
				continue // $check_address$ by default
			}
			switch {
			case a.Opt.Bool:
				fmt.Fprintf(&b, "\tvars.%s = true\n", icingaVar(c, a.Opt))
			case a.Opt.Repeatable:
				fmt.Fprintf(&b, "\tvars.%s = [ %s ]\n", icingaVar(c, a.Opt), icingaString(a.Value))
			default:
				fmt.Fprintf(&b, "\tvars.%s = %s\n", icingaVar(c, a.Opt), icingaString(a.Value))
			}
		}
		if p.Remote {
			b.WriteString("\tassign where host.name == NodeName\n}\n")
			continue
		}
		b.WriteString("\tcommand_endpoint = host.vars.agent_endpoint\n")
		b.WriteString("\tassign where host.vars.agent_endpoint || host.name == NodeName\n}\n")
	}
	return b.String()
}
