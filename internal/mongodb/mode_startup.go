package mongodb

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/plugin"
)

func init() {
	register("startup-warnings", Mode{Run: modeStartupWarnings,
		Doc: "getLog startupWarnings and hostInfo: WARNING for NUMA without interleave, transparent huge pages and zone reclaim; the others listed (--ignore-id silences one)"})
}

func modeStartupWarnings(ctx context.Context, s *Session, o *Options, _ plugin.Env) (*plugin.Result, error) {
	var raw bson.Raw
	if err := s.RunAdmin(ctx, bson.D{{Key: "getLog", Value: "startupWarnings"}}, &raw); err != nil {
		return nil, fmt.Errorf("getLog startupWarnings: %w", err)
	}
	lines, err := getLogLines(raw)
	if err != nil {
		return nil, err
	}
	var numa *bool
	var hi bson.Raw
	if err := s.RunAdmin(ctx, bson.D{{Key: "hostInfo", Value: 1}}, &hi); err == nil {
		if v, err := hi.LookupErr("system", "numaEnabled"); err == nil {
			if b, ok := v.BooleanOK(); ok {
				numa = &b
			}
		}
	}
	return startupResult(ParseStartupLog(lines), numa, o.IgnoreID, s.Target), nil
}

var kindText = map[Kind]string{
	KindNUMA:          "mongod runs on a NUMA machine without numactl --interleave=all",
	KindZoneReclaim:   "vm.zone_reclaim_mode is not 0",
	KindTHP:           "transparent huge pages are not set as this MongoDB version wants",
	KindOpenFiles:     "the open-files limit is too low",
	KindOvercommit:    "vm.overcommit_memory is not as recommended",
	KindAccessControl: "access control is not enabled",
	KindXFS:           "data is not on XFS",
}

var kindHint = map[Kind]string{
	KindNUMA:          "start mongod under numactl --interleave=all (systemd: ExecStart=/usr/bin/numactl --interleave=all /usr/bin/mongod ...) and set vm.zone_reclaim_mode=0",
	KindZoneReclaim:   "set vm.zone_reclaim_mode=0 (sysctl -w vm.zone_reclaim_mode=0 and in /etc/sysctl.d/) and restart mongod",
	KindTHP:           "set /sys/kernel/mm/transparent_hugepage/enabled and defrag to what the warning asks (never before MongoDB 8.0, always from 8.0) at boot, e.g. with a systemd unit, and restart mongod",
	KindOpenFiles:     "raise the limit: LimitNOFILE=64000 in the mongod systemd unit, or nofile in /etc/security/limits.conf",
	KindOvercommit:    "set vm.overcommit_memory to 0 or 1",
	KindAccessControl: "enable security.authorization and create users",
	KindXFS:           "put the dbPath on XFS for WiredTiger",
}

// startupResult turns the classified warnings into findings: one WARNING
// per alerting kind, and an OK finding listing the others.
func startupResult(ws []Warning, numa *bool, ignore LogIDs, target string) *plugin.Result {
	var r plugin.Result
	byKind := map[Kind][]Warning{}
	var kinds []Kind
	var other, ignored []Warning
	for _, w := range ws {
		switch {
		case ignore.Has(w.ID) && w.ID != 0:
			ignored = append(ignored, w)
		case alertingKinds[w.Kind]:
			if byKind[w.Kind] == nil {
				kinds = append(kinds, w.Kind)
			}
			byKind[w.Kind] = append(byKind[w.Kind], w)
		default:
			other = append(other, w)
		}
	}
	alerting := 0
	for _, k := range kinds {
		var ids []string
		for _, w := range byKind[k] {
			alerting++
			if w.ID != 0 && !slices.Contains(ids, strconv.Itoa(w.ID)) {
				ids = append(ids, strconv.Itoa(w.ID))
			}
		}
		text := kindText[k]
		if alerting == len(byKind[k]) {
			text = target + ": " + text // the host once, in the first finding
		}
		if len(ids) > 0 {
			text += " (log id " + strings.Join(ids, ", ") + ")"
		}
		f := r.Add(plugin.Warning, text)
		for _, w := range byKind[k] {
			f.Detailf("%s", describeWarning(w))
		}
		f.Detailf("fix: %s; silence with --ignore-id %s", kindHint[k], strings.Join(ids, ","))
	}

	summary := fmt.Sprintf("%s: %d startup warnings", target, len(ws))
	if alerting == 0 {
		summary += ", none that alert"
	}
	if numa != nil {
		summary += fmt.Sprintf(", NUMA machine: %s", yesNo(*numa))
	}
	f := r.Add(plugin.OK, summary,
		plugin.Perf{Label: "startup_warnings", Value: float64(len(ws)), Min: plugin.F(0)},
		plugin.Perf{Label: "alerting_warnings", Value: float64(alerting), Min: plugin.F(0)},
	)
	f.Quiet = alerting > 0
	for _, w := range other {
		line := describeWarning(w)
		if h := kindHint[w.Kind]; h != "" {
			line += " — " + h
		}
		f.Detailf("%s", line)
	}
	for _, w := range ignored {
		f.Detailf("ignored (--ignore-id %d): %s", w.ID, w.Text)
	}
	if numa != nil {
		f.Detailf("hostInfo.system.numaEnabled: %t", *numa)
	}
	return &r
}

func describeWarning(w Warning) string {
	id := "text"
	if w.ID != 0 {
		id = "id " + strconv.Itoa(w.ID)
	}
	return fmt.Sprintf("[%s, %s] %s", id, w.Kind, strings.TrimSpace(w.Text))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
