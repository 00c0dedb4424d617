package packaging_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opschecks/opschecks/internal/testenv"
	"github.com/opschecks/opschecks/internal/testenv/mongosim"
)

// failoverObjects: one host and the primary-change service through the
// shipped opschecks_mongodb command, under the ordinary retry settings
// of Nagios' generic-service (max_check_attempts 3), with a contact whose
// notifications Nagios logs. interval_length 1 makes the intervals
// seconds so the test runs in seconds.
const failoverObjects = nagiosTimeperiod + `
define command {
    command_name    notify-log
    command_line    /bin/true
}
define contact {
    contact_name                  oncall
    host_notifications_enabled    0
    service_notifications_enabled 1
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  w,u,c,r
    host_notification_commands    notify-log
    service_notification_commands notify-log
}
define host {
    host_name             db1
    address               127.0.0.1
    max_check_attempts    1
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    contacts              oncall
}
define service {
    host_name             db1
    service_description   MongoDB primary
    check_command         opschecks_mongodb!--uri URI --mode primary-change --state-dir STATE --hold HOLD
    max_check_attempts    3
    check_interval        2
    retry_interval        1
    check_period          24x7
    notification_period   24x7
    notification_interval 0
    notification_options  w,u,c,r
    contacts              oncall
}
`

// TestNagiosPrimaryChange is issue 14, item 4, through a real Nagios 4: a
// failover, and then a re-election of the same member (a newer term),
// each reach a HARD WARNING and a logged notification under
// max_check_attempts 3, and recover once --hold is over.
func TestNagiosPrimaryChange(t *testing.T) {
	testenv.Require(t, "root", "nagios4")
	nagios4 := testenv.Binary(t, "nagios4")
	root := testenv.ModuleRoot(t)
	bin := testenv.BuildCheck(t, "check_mongodb")
	set := mongosim.Start(t, mongosim.Scenario{Members: []mongosim.Member{
		{State: mongosim.Primary}, {State: mongosim.Secondary}, {State: mongosim.Secondary}}})

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	objects := strings.NewReplacer("URI", set.URI(), "STATE", state, "HOLD", "12s").Replace(failoverObjects)
	mustWrite(t, filepath.Join(dir, "objects.cfg"), objects)
	mustWrite(t, filepath.Join(dir, "resource.cfg"), "$USER1$="+filepath.Dir(bin)+"\n")
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "nagios.cfg")
	mustWrite(t, cfg, nagiosConfig(dir, filepath.Join(root, "packaging"), "interval_length=1\nlog_service_retries=1\nenable_notifications=1"))
	if out, err := exec.Command(nagios4, "-v", cfg).CombinedOutput(); err != nil || !strings.Contains(string(out), "Total Errors:   0") {
		t.Fatalf("nagios4 -v: %v\n%s", err, out)
	}
	logPath := filepath.Join(dir, "nagios.log")
	d := testenv.StartDaemon(t, exec.Command(nagios4, cfg), filepath.Join(dir, "stdout.log"))
	defer d.Stop()
	const svc = "db1;MongoDB primary;"
	waitLog := func(what string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !strings.Contains(readFull(logPath), what) {
			if d.Exited() || time.Now().After(deadline) {
				t.Fatalf("nagios.log lacks %q after %v (exited %v):\n%s", what, within, d.Exited(), readLog(logPath))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The first run remembers the primary; wait for two checks.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "status.dat"))
		if strings.Contains(string(b), "primary is "+set.Addr(0)+", unchanged since") {
			break
		}
		if d.Exited() || time.Now().After(deadline) {
			t.Fatalf("no OK check of the unchanged primary:\n%s\n%s", readLog(logPath), b)
		}
		time.Sleep(200 * time.Millisecond)
	}

	set.Update(func(s *mongosim.Scenario) {
		s.Members[0].State = mongosim.Secondary
		s.Members[1].State = mongosim.Primary
		s.Members[1].Term = 2
	})
	waitLog("SERVICE ALERT: "+svc+"WARNING;SOFT;1;", 20*time.Second)
	waitLog("SERVICE ALERT: "+svc+"WARNING;HARD;3;", 20*time.Second)
	waitLog("SERVICE NOTIFICATION: oncall;"+svc+"WARNING;notify-log;", 10*time.Second)
	if !strings.Contains(readFull(logPath), "primary changed from "+set.Addr(0)+" to "+set.Addr(1)) {
		t.Fatalf("notification without the change:\n%s", readLog(logPath))
	}
	// The hold ends: a recovery, notified too.
	waitLog("SERVICE ALERT: "+svc+"OK;HARD;", 30*time.Second)
	waitLog("SERVICE NOTIFICATION: oncall;"+svc+"OK;notify-log;", 10*time.Second)

	// A step-down after which the same member is elected again.
	before := strings.Count(readFull(logPath), "SERVICE NOTIFICATION: oncall;"+svc+"WARNING;")
	set.Update(func(s *mongosim.Scenario) { s.Members[1].Term = 3 })
	deadline = time.Now().Add(30 * time.Second)
	for strings.Count(readFull(logPath), "SERVICE NOTIFICATION: oncall;"+svc+"WARNING;") == before {
		if d.Exited() || time.Now().After(deadline) {
			t.Fatalf("no notification of the re-election:\n%s", readLog(logPath))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(readFull(logPath), set.Addr(1)+" was elected again (term 3, was 2)") {
		t.Fatalf("re-election not named:\n%s", readLog(logPath))
	}
}

func readFull(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
