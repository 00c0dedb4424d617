package docs

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/testenv"
)

// binary is one built check and what it says about itself.
type binary struct {
	name, path string
	doc        plugin.CheckDoc
	long       map[string]plugin.OptionDoc // by long name, hidden options included
	short      map[string]plugin.OptionDoc // by short name
}

// option finds an option by its spelling on a command line: --name or
// -x (the part before any "=").
func (b *binary) option(spelling string) (plugin.OptionDoc, bool) {
	name, _, _ := strings.Cut(spelling, "=")
	if l, ok := strings.CutPrefix(name, "--"); ok {
		o, found := b.long[l]
		return o, found
	}
	o, found := b.short[strings.TrimPrefix(name, "-")]
	return o, found
}

// hasMode reports whether m is one of the binary's --mode values (they are
// taken in any letter case).
func (b *binary) hasMode(m string) bool {
	for _, d := range b.doc.Modes {
		if strings.EqualFold(d.Name, m) {
			return true
		}
	}
	return false
}

// world is what the docs are checked against: the binaries and the
// commands the generated definitions give them.
type world struct {
	root   string
	bins   map[string]*binary // by name, check_x
	names  []string           // sorted
	nagios map[string]string  // Nagios command_name -> command_line
	nrpe   map[string]string  // NRPE command (fixed and _args variants) -> command line
}

var (
	worldOnce sync.Once
	theWorld  *world
)

// commonOptions are the options of plugin.Common, which every binary
// has; the hidden ones (for packaging/) are left out of
// --emit-options-json, yet the docs may name them.
func commonOptions() (all, hidden []plugin.OptionDoc) {
	t := reflect.TypeOf(plugin.Common{})
	for i := range t.NumField() {
		f := t.Field(i)
		o := plugin.OptionDoc{Long: f.Tag.Get("long"), Short: f.Tag.Get("short"), Bool: f.Type.Kind() == reflect.Bool}
		all = append(all, o)
		if f.Tag.Get("hidden") == "true" {
			hidden = append(hidden, o)
		}
	}
	return all, hidden
}

// theBinaries builds every cmd/check_* once and reads the generated
// Nagios and NRPE commands.
func theBinaries(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() {
		w := &world{root: testenv.ModuleRoot(t), bins: map[string]*binary{}, nagios: map[string]string{}, nrpe: map[string]string{}}
		_, hidden := commonOptions()
		for _, c := range testenv.AllChecks(t) {
			b := &binary{name: c.Name, path: c.Path, doc: c.Doc, long: map[string]plugin.OptionDoc{}, short: map[string]plugin.OptionDoc{}}
			for _, o := range append(b.doc.Options, hidden...) {
				b.long[o.Long] = o
				if o.Short != "" {
					b.short[o.Short] = o
				}
			}
			w.bins[c.Name] = b
			w.names = append(w.names, c.Name)
		}
		w.nagios = nagiosCommands(w.read(t, "packaging/nagios/opschecks-commands.cfg"))
		for _, f := range []string{"packaging/nrpe/opschecks.cfg", "packaging/nrpe/opschecks-rpm.cfg"} {
			for _, m := range nrpeCommand.FindAllStringSubmatch(w.read(t, f), -1) {
				w.nrpe[m[1]] = m[2]
			}
		}
		theWorld = w
	})
	if theWorld == nil {
		t.FailNow() // the first caller reported why
	}
	if len(theWorld.bins) < 5 {
		t.Fatalf("found %d check binaries in cmd/, want the suite's", len(theWorld.bins))
	}
	return theWorld
}

func (w *world) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	defineCommand = regexp.MustCompile(`(?s)define\s+command\s*\{(.*?)\}`)
	commandName   = regexp.MustCompile(`(?m)^\s*command_name\s+(\S+)`)
	commandLine   = regexp.MustCompile(`(?m)^\s*command_line\s+(.+?)\s*$`)
	nrpeCommand   = regexp.MustCompile(`(?m)^#?command\[([^\]]+)\]=(.+)$`)
)

// nagiosCommands reads the "define command" blocks of a text.
func nagiosCommands(text string) map[string]string {
	out := map[string]string{}
	for _, m := range defineCommand.FindAllStringSubmatch(text, -1) {
		n, l := commandName.FindStringSubmatch(m[1]), commandLine.FindStringSubmatch(m[1])
		if n != nil && l != nil {
			out[n[1]] = l[1]
		}
	}
	return out
}

// byCommand finds the binary of a generated command name
// (opschecks_<short>), and what follows the name (_args, or the rest of
// an Icinga 2 variable): the longest short name wins, so
// opschecks_nginx_queue_port is check_nginx_queue's --port.
func (w *world) byCommand(ident string) (*binary, string) {
	var best *binary
	rest := ""
	for _, n := range w.names {
		prefix := "opschecks_" + strings.TrimPrefix(n, "check_")
		if (ident == prefix || strings.HasPrefix(ident, prefix+"_")) && (best == nil || len(n) > len(best.name)) {
			best, rest = w.bins[n], strings.TrimPrefix(ident, prefix)
		}
	}
	return best, rest
}
