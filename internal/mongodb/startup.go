package mongodb

import (
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
)

// Kind is what a startup warning is about.
type Kind string

// The kinds of startup warnings the check tells apart.
const (
	KindNUMA          Kind = "numa"
	KindZoneReclaim   Kind = "zone_reclaim"
	KindTHP           Kind = "thp"
	KindOpenFiles     Kind = "open_files"
	KindOvercommit    Kind = "overcommit"
	KindAccessControl Kind = "access_control"
	KindXFS           Kind = "xfs"
	KindOther         Kind = "other"
)

// alertingKinds warn by default: they slow a database down badly.
var alertingKinds = map[Kind]bool{KindNUMA: true, KindZoneReclaim: true, KindTHP: true}

// kindByID maps logv2 ids (MongoDB 4.4+) to kinds.
var kindByID = map[int]Kind{
	22166: KindNUMA, 22167: KindNUMA, 22168: KindNUMA, 22169: KindNUMA,
	22174: KindZoneReclaim,
	22178: KindTHP, 22181: KindTHP,
	22184: KindOpenFiles,
	22171: KindOvercommit,
	22120: KindAccessControl,
	22297: KindXFS,
}

// canonicalID is the logv2 id given to a text line (before 4.4) of a
// kind, so --ignore-id works for both formats.
var canonicalID = map[Kind]int{
	KindNUMA: 22166, KindZoneReclaim: 22174, KindTHP: 22178, KindOpenFiles: 22184,
	KindOvercommit: 22171, KindAccessControl: 22120, KindXFS: 22297,
}

// textRules classify by message text: old text lines, and logv2 ids this
// table does not know (later versions renumber some warnings). Compiled on
// first use: only startup-warnings needs them, and every start counts.
var textRules = sync.OnceValue(func() []textRule {
	return []textRule{
		{regexp.MustCompile(`(?i)numa|numactl|interleave`), KindNUMA},
		{regexp.MustCompile(`(?i)zone_reclaim`), KindZoneReclaim},
		{regexp.MustCompile(`(?i)transparent_hugepage|transparent huge ?pages|khugepaged|\bTHP\b`), KindTHP},
		{regexp.MustCompile(`(?i)rlimit|open files|file descriptors|number of files`), KindOpenFiles},
		{regexp.MustCompile(`(?i)overcommit`), KindOvercommit},
		{regexp.MustCompile(`(?i)access control`), KindAccessControl},
		{regexp.MustCompile(`(?i)\bXFS\b`), KindXFS},
	}
})

type textRule struct {
	re   *regexp.Regexp
	kind Kind
}

// Warning is one startup warning.
type Warning struct {
	ID       int    // logv2 id, or the canonical id of the kind for text lines (0 if unknown)
	Severity string // logv2 "s" (W, I, E...); "" for text lines
	Text     string // the message, with attributes that matter
	Kind     Kind

	cont bool // an old-format "**" line continuing the previous warning
}

func classifyText(s string) Kind {
	for _, r := range textRules() {
		if r.re.MatchString(s) {
			return r.kind
		}
	}
	return KindOther
}

// logv2Line is the part of a MongoDB 4.4+ structured log line we read.
type logv2Line struct {
	ID   *int            `json:"id"`
	S    string          `json:"s"`
	Msg  string          `json:"msg"`
	Attr json.RawMessage `json:"attr"`
}

// ClassifyLine classifies one getLog line: a logv2 JSON document or an
// old text line. ok is false for lines that carry no warning (blank lines,
// the "**" continuation lines of the old format).
func ClassifyLine(line string) (w Warning, ok bool) {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "{") {
		var l logv2Line
		if err := json.Unmarshal([]byte(t), &l); err == nil && (l.Msg != "" || l.ID != nil) {
			w = Warning{Severity: l.S, Text: l.Msg}
			if len(l.Attr) > 0 && string(l.Attr) != "{}" && string(l.Attr) != "null" {
				w.Text += " " + string(l.Attr)
			}
			if l.ID != nil {
				w.ID = *l.ID
			}
			if k, known := kindByID[w.ID]; known {
				w.Kind = k
			} else {
				w.Kind = classifyText(w.Text)
			}
			return w, true
		}
	}
	msg, cont := oldTextMessage(t)
	if msg == "" {
		return Warning{}, false
	}
	w = Warning{Text: msg, Kind: classifyText(msg), cont: cont}
	w.ID = canonicalID[w.Kind]
	return w, true
}

// oldTextPrefix matches "2019-03-12T10:00:00.000+0000 I CONTROL  [initandlisten] ".
var oldTextPrefix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\S+\s+[A-Z]\s+[A-Z-]+\s+\[[^\]]*\]\s?`)
})

// oldTextMessage returns the message of an old text line ("" for a blank
// line); cont is true for "**" lines that continue a warning.
func oldTextMessage(t string) (msg string, cont bool) {
	t = oldTextPrefix().ReplaceAllString(t, "")
	t = strings.TrimSpace(t)
	if rest, ok := strings.CutPrefix(t, "**"); ok {
		rest = strings.TrimSpace(rest)
		if r2, ok := strings.CutPrefix(rest, "WARNING:"); ok {
			return strings.TrimSpace(r2), false
		}
		return rest, rest != ""
	}
	return t, false
}

// ParseStartupLog parses the lines of getLog startupWarnings. Old text
// warnings span several lines: continuation lines are joined to the
// warning they belong to and classified with it.
func ParseStartupLog(lines []string) []Warning {
	var out []Warning
	for _, line := range lines {
		w, ok := ClassifyLine(line)
		if !ok {
			continue
		}
		if w.cont {
			if n := len(out); n > 0 && out[n-1].Severity == "" {
				prev := &out[n-1]
				prev.Text += " " + w.Text
				if prev.Kind == KindOther {
					prev.Kind = classifyText(prev.Text)
					prev.ID = canonicalID[prev.Kind]
				}
				continue
			}
			w.cont = false
		}
		out = append(out, w)
	}
	return out
}

// ReadGetLog reads a getLog reply (Extended JSON, as in testdata) and
// returns its lines.
func ReadGetLog(r io.Reader) ([]string, error) {
	raw, err := ReadDocument(r)
	if err != nil {
		return nil, err
	}
	return getLogLines(raw)
}

func getLogLines(raw bson.Raw) ([]string, error) {
	v, err := raw.LookupErr("log")
	if err != nil {
		return nil, &MissingError{Field: "getLog.log"}
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, &MissingError{Field: "getLog.log as an array"}
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, e := range vals {
		if s, ok := e.StringValueOK(); ok {
			out = append(out, s)
		}
	}
	return out, nil
}
