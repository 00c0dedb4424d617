package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The perfdata consumers' tests (issue 15): the outputs of a check are
// shown to the real programs our users feed them to, and what those
// programs recorded is compared with what the check printed.
//
//   - Icinga 2 (icinga2-bin 2.13 of Debian 12) runs each output as a
//     service's check result; its PerfdataWriter records $service.perfdata$
//     (the metrics after Icinga's own split, lib/icinga/pluginutility.cpp
//     SplitPerfdata, where "::" renames the labels after it) and, through a
//     function custom variable, what Icinga's perfdata parser
//     (parse_performance_data, PerfdataValue::Parse, the parser of every
//     writer) made of each metric: label, value, unit, counter, warn,
//     crit, min, max; its GraphiteWriter (enable_send_thresholds) sends
//     the metrics to a Graphite line receiver this file runs on loopback.
//   - Nagios 4 (nagios4-core) runs the same outputs with
//     process_performance_data and a service_perfdata_file template.
//
// The outputs are replayed by a two-line shell plugin (cat, exit), so the
// consumers read exactly the bytes and the exit code the test got.

// Sample is one output of a check to show the consumers.
type Sample struct {
	Name string // service name: a-z, 0-9 and '_', unique among the samples
	Run  Run
}

// Samples collects the outputs a test shows the consumers.
type Samples []Sample

// Add appends r as the sample name, after checking that the check exited
// with code (a scenario that did not reach its state fails the test).
func (ss *Samples) Add(t testing.TB, name string, code int, r Run) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: exit %d, want %d:\n%s", name, r.Code, code, r.Stdout)
	}
	*ss = append(*ss, Sample{Name: name, Run: r})
}

// PrintedPerf is one perfdata item as a check printed it.
type PrintedPerf struct {
	Label, Value, UOM    string // Label without quotes; Value as printed ("U" too)
	Warn, Crit, Min, Max string // raw fields
	Field                string // the whole item
}

var printedItem = regexp.MustCompile(`^('[^']+'|[^'=]+)=(-?[0-9.]+|U)([a-zA-Z%]*)((?:;[^;]*){0,4})$`)

// Printed splits the perfdata of a run's first line into items, as the
// guidelines write them (quoted labels and 'U' too, so that the consumer
// tests can show what older outputs did); it fails the test on an item
// it cannot split.
func Printed(t testing.TB, r Run) []PrintedPerf {
	t.Helper()
	_, pd, ok := strings.Cut(r.FirstLine(), " | ")
	if !ok {
		return nil
	}
	var out []PrintedPerf
	for _, item := range strings.Fields(pd) {
		m := printedItem.FindStringSubmatch(item)
		if m == nil {
			t.Fatalf("perfdata item %q does not follow the guidelines in %q", item, r.FirstLine())
		}
		f := append(strings.Split(strings.TrimPrefix(m[4], ";"), ";"), "", "", "", "")
		out = append(out, PrintedPerf{Label: strings.Trim(m[1], "'"), Value: m[2], UOM: m[3], Warn: f[0], Crit: f[1], Min: f[2], Max: f[3], Field: item})
	}
	return out
}

// value is the printed value as Icinga 2 records it (nil for 'U').
func (p PrintedPerf) value() *float64 { return perfNumber(p.Value, icingaUnits[p.UOM].factor) }

// icingaUnits is how Icinga 2's parser reads the guidelines' units
// (lib/base/perfdatavalue.cpp, l_CsUoMs and l_CiUoMs): the unit it
// records and the factor it multiplies value, warn, crit, min and max by.
// To Icinga 2, KB, MB... are decimal (1000; KiB, MiB... would be 1024).
var icingaUnits = map[string]struct {
	name   string
	factor float64
}{
	"": {"", 1}, "c": {"", 1}, "%": {"percent", 1},
	"s": {"seconds", 1}, "ms": {"seconds", 1e-3}, "us": {"seconds", 1e-6},
	"B": {"bytes", 1}, "KB": {"bytes", 1e3}, "MB": {"bytes", 1e6}, "GB": {"bytes", 1e9}, "TB": {"bytes", 1e12},
}

// icingaCounts reports whether this icinga2 sets the counter flag of a
// 'c' metric. 2.13 does not: it maps "c" to the empty unit before testing
// for "c" (perfdatavalue.cpp, PerfdataValue::Parse); fixed in 2.15.0
// (Icinga/icinga2 commit 7e65a60a5, "Fix PerfdataValue Counter Parsing").
// The value is recorded either way; only the flag differs.
func icingaCounts(t testing.TB) bool {
	t.Helper()
	out, _ := exec.Command(Binary(t, "icinga2"), "--version").CombinedOutput()
	m := regexp.MustCompile(`version: r?(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("icinga2 --version: no version in %q", out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 2 || major == 2 && minor >= 15
}

// icingaParsed is one metric as parse_performance_data returns it.
type icingaParsed struct {
	Label   string   `json:"label"`
	Value   float64  `json:"value"`
	Unit    string   `json:"unit"`
	Counter bool     `json:"counter"`
	Warn    *float64 `json:"warn"`
	Crit    *float64 `json:"crit"`
	Min     *float64 `json:"min"`
	Max     *float64 `json:"max"`
	Invalid string   `json:"invalid"`
}

// consumerHost is the Icinga 2 host of the samples (Nagios' is localhost).
const consumerHost = "consumers"

// icingaParsedVar is a template whose function custom variable gives, as
// JSON, what Icinga 2's parser makes of each metric of the service's
// perfdata; a metric it refuses comes out as {"invalid": ...}. It reads
// the perfdata through macro() (reading get_service().last_check_result
// there instead hung icinga2 2.13 in a trial, before any check ran).
const icingaParsedVar = `template Service "parsed" {
	vars.parsed = {{
		var out = []
		var pd = macro("$service.perfdata$")
		if (pd != "") {
			for (p in pd.split(" ")) {
				try {
					var v = parse_performance_data(p)
					out.add({ label = v.label, value = v.value, unit = v.unit, counter = v.counter, warn = v.warn, crit = v.crit, min = v.min, max = v.max })
				} except {
					out.add({ invalid = p })
				}
			}
		}
		return Json.encode(out)
	}}
}
`

var sampleName = regexp.MustCompile(`^[a-z0-9_]+$`)

// consumed is what the consumers recorded of the samples.
type consumed struct {
	printed  map[string][]PrintedPerf
	icinga   map[string]map[string]string // PerfdataWriter record by service
	graphite map[string]map[string]string // path below graphitePrefix -> value, by service
	nagios   map[string][2]string         // state id and perfdata by service
	status   map[string]map[string]string // Nagios' status.dat by service
	log      string                       // icinga2's log
	counts   bool                         // icinga2 sets the counter flag of 'c'
}

// consume shows the samples to Icinga 2 and Nagios 4 at once and returns
// what they recorded.
func consume(t *testing.T, samples []Sample) *consumed {
	t.Helper()
	Require(t, "root", "icinga2", "nagios4")
	if len(samples) == 0 {
		t.Fatal("no samples for the consumers")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &consumed{printed: map[string][]PrintedPerf{}, icinga: map[string]map[string]string{},
		graphite: map[string]map[string]string{}, counts: icingaCounts(t)}
	var names []string
	var icingaSvc, nagiosSvc strings.Builder
	for _, s := range samples {
		if _, dup := c.printed[s.Name]; dup || !sampleName.MatchString(s.Name) {
			t.Fatalf("sample name %q is not unique or holds more than a-z, 0-9 and '_'", s.Name)
		}
		c.printed[s.Name] = Printed(t, s.Run)
		names = append(names, s.Name)
		out := filepath.Join(dir, s.Name+".out")
		script := filepath.Join(dir, s.Name+".sh")
		if err := os.WriteFile(out, []byte(s.Run.Stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\ncat '%s'\nexit %d\n", out, s.Run.Code)), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&icingaSvc, "object Service %q {\n\timport \"parsed\"\n\thost_name = %q\n\tcheck_command = \"replay\"\n\tvars.replay = %q\n\tcheck_interval = 1s\n\tretry_interval = 1s\n\tmax_check_attempts = 1\n}\n", s.Name, consumerHost, script)
		fmt.Fprintf(&nagiosSvc, "define service {\n    use generic-service\n    host_name localhost\n    service_description %s\n    check_command replay!%s\n}\n", s.Name, script)
	}

	g := startGraphite(t)
	ic := NewIcinga(t, nil)
	template := strings.Replace(IcingaServiceTemplate, "\tSERVICEPERFDATA::", "\tPARSED::$service.vars.parsed$\tSERVICEPERFDATA::", 1)
	ic.WriteConfig("icinga2.conf", fmt.Sprintf(`object CheckerComponent "checker" {}
object CheckCommand "replay" { command = [ "$replay$" ] }
object Host %q { check_command = "replay"; vars.replay = "/bin/true"; enable_active_checks = false }
object GraphiteWriter "graphite" { host = "127.0.0.1"; port = %d; enable_send_thresholds = true }
%s
%s
%s`, consumerHost, g.port(), ic.PerfdataWriterConfig(template), icingaParsedVar, icingaSvc.String()))

	perfFile := filepath.Join(dir, "nagios-service-perfdata")
	ng := NewNagios(t, "define command {\n    command_name replay\n    command_line $ARG1$\n}\n"+nagiosSvc.String(),
		"process_performance_data=1\nservice_perfdata_file="+perfFile+"\nservice_perfdata_file_mode=a\nservice_perfdata_file_processing_interval=0\n"+
			"service_perfdata_file_template=[SERVICEPERFDATA]\\t$SERVICEDESC$\\t$SERVICESTATEID$\\t$SERVICEPERFDATA$\n")
	if out, ok := ng.Validate(); !ok {
		t.Fatalf("nagios4 -v refuses the configuration:\n%s", out)
	}
	ng.Start()
	ic.Start()

	// Icinga 2: a record of every sample in the PerfdataWriter and, for
	// every sample with perfdata, metrics in Graphite; then stop it, which
	// flushes the writers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, r := range ic.PerfdataRecords() {
			if _, ok := c.printed[r["SERVICEDESC"]]; ok && r["DATATYPE"] == "SERVICEPERFDATA" {
				c.icinga[r["SERVICEDESC"]] = r
			}
		}
		done := len(c.icinga) == len(samples)
		for name, ps := range c.printed {
			if len(ps) > 0 && len(g.metrics(graphitePrefix(name))) == 0 {
				done = false
			}
		}
		if done {
			break
		}
		if ic.Exited() || time.Now().After(deadline) {
			t.Fatalf("icinga2 did not record every sample in the PerfdataWriter and Graphite within 60 s (%d of %d recorded):\n%s", len(c.icinga), len(samples), tail(ic.Log(), 6000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	ic.Stop()
	g.drain()
	for name := range c.printed {
		c.graphite[name] = g.metrics(graphitePrefix(name))
	}
	c.log = ic.Log()

	ng.WaitChecked(90*time.Second, names...)
	c.status = ng.Status() // before Stop: Nagios removes status.dat when it ends
	ng.Stop()
	c.nagios = nagiosPerfdata(t, perfFile)
	return c
}

// AssertConsumers runs Icinga 2 and Nagios 4 on the samples and asserts,
// for every sample:
//   - Icinga 2 recorded its state and, under each printed label and in
//     the printed order, exactly the printed metrics, and its parser read
//     each with the value, unit, warn, crit, min and max printed (scaled
//     as it scales units; a warn or crit that is a range is not a number
//     to Icinga 2, which drops it, so it must be absent; a 'c' metric is a
//     counter from 2.15 on);
//   - its GraphiteWriter sent, for each printed label, paths
//     <prefix>.<label>.<value|warn|crit|min|max> (the label is exactly one
//     node) with the same numbers, and nothing else;
//   - Nagios 4 recorded its state and wrote the printed perfdata verbatim
//     into its service_perfdata_file;
//   - Nagios 4 (status.dat plugin_output and long_plugin_output) and
//     Icinga 2 ($service.output$) recorded the printed text verbatim: the
//     first line's text and the long output (Nagios 4 rewrites ';' in the
//     first line's text to ':', see plugin.Separator);
//
// and that Icinga 2 logged no warning about perfdata.
func AssertConsumers(t *testing.T, samples ...Sample) {
	t.Helper()
	c := consume(t, samples)
	for _, s := range samples {
		t.Run(s.Name, func(t *testing.T) {
			for _, p := range c.problems(s) {
				t.Error(p)
			}
		})
	}
	for _, p := range c.logProblems() {
		t.Error(p)
	}
}
