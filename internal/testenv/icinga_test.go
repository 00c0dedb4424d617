package testenv

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePerfdataRecords(t *testing.T) {
	// Icinga 2's default service template, then ours with a two-line
	// output, then a record cut short by rotation.
	text := "DATATYPE::SERVICEPERFDATA\tTIMET::1\tHOSTNAME::h\tSERVICEPERFDATA::a=1\n" +
		"DATATYPE::SERVICEPERFDATA\tSERVICEDESC::s\tSERVICEOUTPUT::X OK - fine\nline two\n" +
		"DATATYPE::HOSTPERFDATA\n"
	want := []map[string]string{
		{"DATATYPE": "SERVICEPERFDATA", "TIMET": "1", "HOSTNAME": "h", "SERVICEPERFDATA": "a=1"},
		{"DATATYPE": "SERVICEPERFDATA", "SERVICEDESC": "s", "SERVICEOUTPUT": "X OK - fine\nline two"},
		{"DATATYPE": "HOSTPERFDATA"},
	}
	if got := ParsePerfdataRecords(text); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := ParsePerfdataRecords(""); len(got) != 0 {
		t.Fatalf("empty file: %q", got)
	}
}

// TestIcinga starts a real icinga2 in its own directories and reads what
// its PerfdataWriter recorded for a service: state, attempt, output with
// its long output, perfdata as Icinga 2 parsed it, and who ran the check.
func TestIcinga(t *testing.T) {
	Require(t, "root", "icinga2")
	ic := NewIcinga(t, nil)
	ic.WriteConfig("icinga2.conf", fmt.Sprintf(`include <itl>
const NodeName = "testenv.test"
object CheckerComponent "checker" {}
object Host NodeName { check_command = "dummy"; enable_active_checks = false }
object Service "svc" {
	host_name = NodeName
	check_command = "dummy"
	vars.dummy_state = 1
	vars.dummy_text = "X WARNING - first | 'a b'=1s;2;3;0; c=5%%\nsecond line"
	check_interval = 1s
	retry_interval = 1s
}
%s`, ic.PerfdataWriterConfig("")))
	if out, ok := ic.Validate(); !ok {
		t.Fatalf("icinga2 daemon -C:\n%s", out)
	}
	t0 := time.Now()
	ic.Start()
	t.Logf("started in %v", time.Since(t0))
	res := ic.WaitResults(30*time.Second, func(rs []IcingaResult) bool {
		return len(rs) > 0 && rs[len(rs)-1].StateType == "HARD"
	})
	t.Logf("HARD after %v", time.Since(t0))
	if res[0].StateType != "SOFT" {
		t.Errorf("first result %+v, want SOFT (max_check_attempts 3 by default)", res[0])
	}
	r := res[len(res)-1]
	if r.Attempt < 1 || r.Attempt > 3 {
		t.Errorf("attempt %d", r.Attempt)
	}
	r.Attempt = 0 // Icinga counts attempts its own way (the next one after a SOFT result)
	want := IcingaResult{Host: "testenv.test", Service: "svc", State: 1, StateType: "HARD",
		Source: "testenv.test", Perfdata: "'a b'=1s;2;3;0; c=5%", Output: "X WARNING - first \nsecond line"} // Icinga keeps the blank before the perfdata
	if r != want {
		t.Fatalf("icinga2 recorded\n %+v\nwant\n %+v", r, want)
	}
	t1 := time.Now()
	ic.Stop()
	t.Logf("stopped in %v", time.Since(t1))
	if !ic.Exited() || strings.Contains(ic.Log(), "critical/") {
		t.Errorf("icinga2 did not stop cleanly:\n%s", ic.Log())
	}
}
