package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nagios is a real Nagios 4 (Debian nagios4-core) started by a test with
// a main configuration of its own in a temporary directory: no file of the
// host's /etc/nagios4 or /var/lib/nagios4 is read or written. It runs as
// root, checks every service once a minute (at once after the start) and
// sends no notification.
type Nagios struct {
	Dir     string // nagios.cfg, objects.cfg, status.dat, nagios.log live here
	LogFile string // the daemon's console output

	t   testing.TB
	bin string
	d   *Daemon
}

// NagiosTimeperiod is the 24x7 time period of NagiosObjects.
const NagiosTimeperiod = `
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
`

// NagiosObjects are the objects every test configuration needs: a 24x7
// time period, a contact nobody is notified through, a host "localhost"
// that is never checked and a service template "generic-service" (one
// attempt, checked every minute) for the test's services.
const NagiosObjects = NagiosTimeperiod + `
define command {
    command_name    notify-nobody
    command_line    /bin/true
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    notify-nobody
    service_notification_commands notify-nobody
}
define host {
    host_name             localhost
    address               127.0.0.1
    max_check_attempts    1
    check_period          24x7
    contacts              nobody
    notification_period   24x7
    notifications_enabled 0
    active_checks_enabled 0
}
define service {
    name                  generic-service
    register              0
    max_check_attempts    1
    check_interval        1
    retry_interval        1
    check_period          24x7
    notification_period   24x7
    notifications_enabled 0
    contacts              nobody
}
`

// NagiosMain is a main configuration (nagios.cfg) whose files are all
// below dir, loading dir/objects.cfg; append lines to add or override
// (a later line wins). illegal_macro_output_chars is Debian's default.
func NagiosMain(dir string) string { return strings.ReplaceAll(nagiosMain, "DIR", dir) }

const nagiosMain = `log_file=DIR/nagios.log
cfg_file=DIR/objects.cfg
status_file=DIR/status.dat
status_update_interval=1
temp_file=DIR/nagios.tmp
temp_path=DIR
lock_file=DIR/nagios.lock
check_result_path=DIR/checkresults
object_cache_file=DIR/objects.cache
precached_object_file=DIR/objects.precache
state_retention_file=DIR/retention.dat
retain_state_information=0
use_retained_program_state=0
command_file=DIR/nagios.cmd
check_external_commands=0
nagios_user=root
nagios_group=root
use_syslog=0
log_rotation_method=n
enable_notifications=0
execute_host_checks=0
service_inter_check_delay_method=n
max_service_check_spread=1
check_result_reaper_frequency=1
max_check_result_reaper_time=5
service_check_timeout=60
enable_flap_detection=0
illegal_macro_output_chars=` + "`" + `~$&|'"<>
`

// NewNagios prepares an instance: objects (NagiosObjects plus the
// test's) go to objects.cfg, main is appended to the main configuration
// (process_performance_data and its templates, for example). Nothing runs
// yet.
func NewNagios(t testing.TB, objects, main string) *Nagios {
	t.Helper()
	bin := Binary(t, "nagios4")
	dir := t.TempDir()
	n := &Nagios{Dir: dir, LogFile: filepath.Join(dir, "stdout.log"), t: t, bin: bin}
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"objects.cfg": NagiosObjects + objects,
		"nagios.cfg":  NagiosMain(dir) + main,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// Config is the path of the main configuration.
func (n *Nagios) Config() string { return filepath.Join(n.Dir, "nagios.cfg") }

// Validate runs `nagios4 -v` and returns its output and whether it found
// no error.
func (n *Nagios) Validate() (string, bool) {
	n.t.Helper()
	r := RunCmd(n.t, exec.Command(n.bin, "-v", n.Config()))
	return r.Stdout + r.Stderr, r.Code == 0 && strings.Contains(r.Stdout, "Total Errors:   0")
}

// Start runs the daemon in its own process group; it is stopped at
// cleanup, also when the test fails.
func (n *Nagios) Start() {
	n.t.Helper()
	n.d = StartDaemon(n.t, exec.Command(n.bin, n.Config()), n.LogFile)
}

// Stop ends the daemon (TERM, KILL after 10 s) and waits for it; Nagios
// flushes its perfdata files when it ends. Safe to call more than once.
func (n *Nagios) Stop() { n.d.Stop() }

// Exited reports whether the daemon has ended.
func (n *Nagios) Exited() bool { return n.d.Exited() }

// Log is the daemon's nagios.log and console output so far.
func (n *Nagios) Log() string {
	a, _ := os.ReadFile(filepath.Join(n.Dir, "nagios.log"))
	b, _ := os.ReadFile(n.LogFile)
	return string(a) + string(b)
}

// Status reads the servicestatus blocks of status.dat (ReadNagiosStatus).
func (n *Nagios) Status() map[string]map[string]string {
	st, _ := ReadNagiosStatus(filepath.Join(n.Dir, "status.dat"))
	return st
}

// ReadNagiosStatus parses the servicestatus blocks of a Nagios status.dat,
// by service description. long_plugin_output is returned as the plugin
// wrote it: status.dat escapes it (unescapeNagios), the reader undoes that.
func ReadNagiosStatus(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "servicestatus {":
			cur = map[string]string{}
		case l == "}" && cur != nil:
			if v, ok := cur["long_plugin_output"]; ok {
				cur["long_plugin_output"] = unescapeNagios(v)
			}
			res[cur["service_description"]] = cur
			cur = nil
		case cur != nil:
			if k, v, ok := strings.Cut(l, "="); ok {
				cur[k] = v
			}
		}
	}
	return res, sc.Err()
}

// WaitChecked waits (bounded by timeout) until status.dat shows each of
// the services checked, and fails the test with the log otherwise.
func (n *Nagios) WaitChecked(timeout time.Duration, services ...string) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := n.Status()
		done := true
		for _, s := range services {
			if st[s]["has_been_checked"] != "1" {
				done = false
			}
		}
		if done {
			return
		}
		if n.Exited() || time.Now().After(deadline) {
			n.t.Fatalf("nagios4 did not check %d services within %v (exited: %v):\n%s", len(services), timeout, n.Exited(), tail(n.Log(), 6000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unescapeNagios undoes the escaping of long_plugin_output in status.dat
// (base/utils.c escape_newlines: a newline as \n, a backslash as \\).
func unescapeNagios(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == '\\') {
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
