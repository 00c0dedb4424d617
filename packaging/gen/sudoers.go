package main

import (
	"fmt"
	"strings"
)

func sudoers(checks []Check) string {
	var b strings.Builder
	b.WriteString(header(hashComment, "opschecks: sudo rules for the checks that need privilege for part of\ntheir work. Install as /etc/sudoers.d/opschecks, mode 0440.", `
Only our binaries, by absolute path (Debian and RPM plugin directories),
as root, without a password and without a tty, for the users Nagios, NRPE
and Icinga 2 run their checks as. Use them as "sudo -n PATH [options]"
in a command definition.

What the caller gets through it (README, "sudo for the checks that need
privilege"): a check started through sudo first takes the identity of
the user who ran it (SUDO_UID, SUDO_GID and that user's groups) and
keeps, of root's capabilities, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to
read /proc/PID of the processes it watches and CAP_SYS_ADMIN to enter a
network namespace, raised on one thread for that work alone. Everything
the caller names (--pidfile, --netns PATH, --state-dir,
--status-password-file, --sysfs) is opened with the caller's own rights;
--procfs and --procfs-root are refused. The rule does not restrict the
options itself: sudoers wildcards match across words, and its regular
expressions (sudo 1.9.10 and later) would make older sudo reject the
file and need an edit with every new option. env_reset keeps the
caller's environment away from the check while it is still root, and
!setenv keeps a site's "Defaults setenv" from letting the caller set
SUDO_UID on sudo's command line (SUDO_UID=0 would keep root's rights).
Give these binaries no SETENV tag and no env_keep of SUDO_* in another
rule: the checks refuse a SUDO_UID that is not the real user of sudo's
process and a SUDO_GID that is not one of the caller's groups, but not
every way sudo runs a command lets them tell.
`) + "#\n")
	var cmds []string
	for _, c := range checks {
		p := profileOf(c.Name)
		if p.Privileged == "" {
			continue
		}
		fmt.Fprintf(&b, "# %s %s\n", c.Name, p.Privileged)
		cmds = append(cmds, DebPluginDir+"/"+c.Name, RPMPluginDir+"/"+c.Name)
	}
	if len(cmds) == 0 {
		b.WriteString("# (no check needs privilege)\n")
		return b.String()
	}
	b.WriteString("\nUser_Alias OPSCHECKS_USERS = nagios, icinga\n")
	fmt.Fprintf(&b, "Cmnd_Alias OPSCHECKS_PRIV = %s\n", strings.Join(cmds, ", \\\n    "))
	b.WriteString("Defaults!OPSCHECKS_PRIV !requiretty, env_reset, !setenv\n")
	b.WriteString("OPSCHECKS_USERS ALL = (root) NOPASSWD: OPSCHECKS_PRIV\n")
	return b.String()
}
