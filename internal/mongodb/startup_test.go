package mongodb

import (
	"github.com/opschecks/opschecks/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opschecks/opschecks/internal/plugin"
)

func TestClassifyLine(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		id   int
		kind Kind
	}{
		{`{"t":{"$date":"2024-05-01T09:59:58.123+00:00"},"s":"W","c":"CONTROL","id":22166,"ctx":"initandlisten","msg":"This server is bound to a NUMA machine"}`, true, 22166, KindNUMA},
		{`{"s":"W","id":22169,"msg":"anything"}`, true, 22169, KindNUMA},
		{`{"s":"W","id":22174,"msg":"We suggest setting /proc/sys/vm/zone_reclaim_mode to 0","attr":{"currentValue":1}}`, true, 22174, KindZoneReclaim},
		{`{"s":"W","id":22178,"msg":"/sys/kernel/mm/transparent_hugepage/enabled is 'always'. We suggest setting it to 'never'"}`, true, 22178, KindTHP},
		{`{"s":"W","id":22181,"msg":"defrag"}`, true, 22181, KindTHP},
		{`{"s":"W","id":22184,"msg":"Soft rlimits for open file descriptors too low"}`, true, 22184, KindOpenFiles},
		{`{"s":"W","id":22171,"msg":"overcommit"}`, true, 22171, KindOvercommit},
		{`{"s":"W","id":22120,"msg":"Access control is not enabled for the database."}`, true, 22120, KindAccessControl},
		{`{"s":"W","id":22297,"msg":"Using the XFS filesystem is strongly recommended"}`, true, 22297, KindXFS},
		// An id this table does not know falls back to the text.
		{`{"s":"W","id":8640302,"msg":"We suggest setting the contents of sysfsFile to 'always'.","attr":{"sysfsFile":"/sys/kernel/mm/transparent_hugepage/enabled"}}`, true, 8640302, KindTHP},
		{`{"s":"I","id":42000,"msg":"Please star us on GitHub: https://github.com/FerretDB/FerretDB."}`, true, 42000, KindOther},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ** WARNING: You are running on a NUMA machine.`, true, 22166, KindNUMA},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ** WARNING: /proc/sys/vm/zone_reclaim_mode is 1`, true, 22174, KindZoneReclaim},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ** WARNING: /sys/kernel/mm/transparent_hugepage/defrag is 'always'.`, true, 22178, KindTHP},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ** WARNING: soft rlimits too low. Number of files is 1024, should be at least 1000`, true, 22184, KindOpenFiles},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ** WARNING: You are running this process as the root user, which is not recommended.`, true, 0, KindOther},
		{`2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] `, false, 0, ""},
		{``, false, 0, ""},
		{`{not json`, true, 0, KindOther},
	}
	for _, tc := range tests {
		w, ok := ClassifyLine(tc.line)
		if ok != tc.ok || w.ID != tc.id || w.Kind != tc.kind {
			t.Errorf("ClassifyLine(%q) = %+v, %v; want id %d kind %q ok %v", tc.line, w, ok, tc.id, tc.kind, tc.ok)
		}
	}
}

func readLog(t *testing.T, name string) []Warning {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines, err := ReadGetLog(f)
	if err != nil {
		t.Fatal(err)
	}
	return ParseStartupLog(lines)
}

func TestStartupWarningsOnFixtures(t *testing.T) {
	yes := true
	tests := []struct {
		fixture string
		ignore  []string
		state   plugin.State
		kinds   []Kind // in order
		summary []string
	}{
		{"getlog-4.4.json", nil, plugin.Warning, []Kind{KindAccessControl, KindTHP, KindNUMA, KindXFS},
			[]string{"transparent huge pages", "NUMA machine without numactl --interleave=all (log id 22166)"}},
		{"getlog-6.0.json", nil, plugin.Warning, []Kind{KindAccessControl, KindNUMA, KindZoneReclaim, KindTHP, KindOpenFiles},
			[]string{"zone_reclaim_mode", "(log id 22181)", "(log id 22167)"}},
		{"getlog-6.0.json", []string{"22167,22174", "22181"}, plugin.OK, []Kind{KindAccessControl, KindNUMA, KindZoneReclaim, KindTHP, KindOpenFiles},
			[]string{"5 startup warnings, none that alert"}},
		{"getlog-8.0.json", nil, plugin.Warning, []Kind{KindAccessControl, KindTHP, KindOvercommit},
			[]string{"(log id 8640302)"}},
		{"getlog-4.0-text.json", nil, plugin.Warning, []Kind{KindAccessControl, KindNUMA, KindTHP, KindOpenFiles, KindXFS},
			[]string{"NUMA machine", "transparent huge pages"}},
		{"getlog-4.0-text.json", []string{"22166", "22178"}, plugin.OK, []Kind{KindAccessControl, KindNUMA, KindTHP, KindOpenFiles, KindXFS},
			[]string{"5 startup warnings, none that alert"}},
		{"getlog-ferretdb.json", nil, plugin.OK, []Kind{KindOther, KindOther},
			[]string{"2 startup warnings, none that alert, NUMA machine: yes"}},
	}
	for _, tc := range tests {
		ws := readLog(t, tc.fixture)
		var kinds []Kind
		for _, w := range ws {
			kinds = append(kinds, w.Kind)
		}
		if strings.Join(kindStrings(kinds), " ") != strings.Join(kindStrings(tc.kinds), " ") {
			t.Errorf("%s: kinds %v, want %v", tc.fixture, kinds, tc.kinds)
		}
		var ign LogIDs
		for _, v := range tc.ignore {
			if err := ign.UnmarshalFlag(v); err != nil {
				t.Fatal(err)
			}
		}
		out, st := plugin.Render("MONGODB", startupResult(ws, &yes, ign, "db1:27017"))
		if st != tc.state {
			t.Errorf("%s ignore %v: %v, want %v\n%s", tc.fixture, tc.ignore, st, tc.state, out)
		}
		first, _, _ := strings.Cut(out, "\n")
		for _, s := range tc.summary {
			if !strings.Contains(first, s) {
				t.Errorf("%s: first line %q lacks %q", tc.fixture, first, s)
			}
		}
		name := "startup-" + strings.TrimSuffix(tc.fixture, ".json")
		if tc.ignore != nil {
			name += "-ignored"
		}
		testenv.Golden(t, name+".txt", out)
	}
	// The old format's continuation lines are joined to their warning.
	ws := readLog(t, "getlog-4.0-text.json")
	if !strings.Contains(ws[1].Text, "numactl --interleave=all mongod") {
		t.Errorf("NUMA warning text not joined: %q", ws[1].Text)
	}
}

func kindStrings(ks []Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func TestLogIDs(t *testing.T) {
	var bad LogIDs
	if err := bad.UnmarshalFlag("22178,x"); err == nil || !strings.Contains(err.Error(), `invalid --ignore-id "x"`) {
		t.Errorf("bad id: %v", err)
	}
	var ids LogIDs
	for _, v := range []string{"22178, 22181", "22166", ""} {
		if err := ids.UnmarshalFlag(v); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 3 || !ids.Has(22181) || !ids.Has(22166) || ids.Has(1) {
		t.Errorf("got %v", ids)
	}
}

func FuzzClassifyLine(f *testing.F) {
	for _, name := range []string{"getlog-4.4.json", "getlog-6.0.json", "getlog-8.0.json", "getlog-4.0-text.json", "getlog-ferretdb.json"} {
		fh, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		lines, err := ReadGetLog(fh)
		fh.Close()
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range lines {
			f.Add(l)
		}
	}
	f.Add(`{"id":null,"msg":""}`)
	f.Add(`** `)
	f.Add("**\x00WARNING:")
	f.Fuzz(func(t *testing.T, line string) {
		w, ok := ClassifyLine(line)
		if !ok {
			return
		}
		if w.Kind == "" {
			t.Fatalf("classified %q without a kind", line)
		}
		if known, has := kindByID[w.ID]; has && w.Severity != "" && w.Kind != known {
			t.Fatalf("id %d classified as %s, want %s", w.ID, w.Kind, known)
		}
		ws := ParseStartupLog([]string{line, line})
		if len(ws) == 0 || len(ws) > 2 {
			t.Fatalf("%q twice gave %d warnings, want 1 or 2", line, len(ws))
		}
		if utf8.ValidString(line) {
			out, _ := plugin.Render("MONGODB", startupResult(ws, nil, nil, "h:1"))
			if first, _, _ := strings.Cut(out, "\n"); strings.Count(first, "|") > 1 {
				t.Fatalf("line %q broke the output: %q", line, first)
			}
		}
	})
}
