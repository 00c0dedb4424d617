#!/bin/sh
# opschecks postinstall (deb and rpm): the checks run as the nagios user
# (Nagios, NRPE and Debian's Icinga 2 all use it) and keep their small
# state files in /var/lib/opschecks, so that directory belongs to it.
set -e

if ! getent group nagios >/dev/null 2>&1; then
	groupadd --system nagios
fi
if ! getent passwd nagios >/dev/null 2>&1; then
	useradd --system --gid nagios --home-dir /var/lib/nagios --no-create-home \
		--shell /usr/sbin/nologin --comment "Nagios plugins" nagios
fi
chown nagios:nagios /var/lib/opschecks
chmod 0750 /var/lib/opschecks
exit 0
