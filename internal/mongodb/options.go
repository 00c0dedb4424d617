package mongodb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

// Options are check_mongodb's options: connection, auth, TLS, mode,
// thresholds and the database/collection a size mode looks at. The
// replica-set modes add theirs through the embedded ReplOptions. Every
// value is checked when the options are parsed, whatever the mode: single
// values by their types and choice tags, combinations by Validate.
type Options struct {
	URI        string      `long:"uri" value-name:"URI" description:"Connection string, mongodb://... or mongodb+srv://...; replaces --host and --port. A password in it is never shown (prefer --password-file or MONGODB_PASSWORD)"`
	Host       string      `short:"H" long:"host" default:"127.0.0.1" value-name:"HOST" description:"Server to check (ignored with --uri)"`
	Port       plugin.Port `short:"P" long:"port" default:"27017" value-name:"PORT" description:"Port of the server (ignored with --uri)"`
	ReplicaSet string      `long:"replica-set" value-name:"NAME" description:"Connect to the replica set NAME through the given host(s) instead of directly to the one host"`

	User          string `short:"u" long:"user" value-name:"USER" description:"User to authenticate as (overrides a user in --uri)"`
	PasswordFile  string `long:"password-file" value-name:"FILE" description:"Read the password from FILE (first line); the environment variable MONGODB_PASSWORD is used otherwise"`
	Password      string `long:"password" value-name:"PASSWORD" description:"Password; VISIBLE IN THE PROCESS LIST to other users of the host, prefer --password-file or MONGODB_PASSWORD"`
	AuthDB        string `long:"authdb" default:"admin" value-name:"DB" description:"Database that holds the user ($external is used for MONGODB-X509 and PLAIN unless set otherwise)"`
	AuthMechanism string `long:"auth-mechanism" value-name:"MECHANISM" choice:"SCRAM-SHA-256" choice:"SCRAM-SHA-1" choice:"MONGODB-X509" choice:"PLAIN" description:"Authentication mechanism; without it, negotiated with the server (SCRAM-SHA-256 where it is available)"`

	TLS            bool   `long:"tls" description:"Connect with TLS"`
	TLSCAFile      string `long:"tls-ca-file" value-name:"FILE" description:"PEM file of the CA(s) that signed the server certificate (implies --tls; default: the system roots)"`
	TLSCertKeyFile string `long:"tls-cert-key-file" value-name:"FILE" description:"PEM file holding the client certificate and its key (implies --tls; needed for MONGODB-X509)"`
	TLSInsecure    bool   `long:"tls-insecure" description:"Do not verify the server certificate or host name (implies --tls; for tests only)"`

	Mode string `short:"m" long:"mode" default:"connect" value-name:"MODE" description:"What to check (the modes, what each looks at and its default thresholds: \"Modes\" in --help, MODES in the man page)"`

	Warning       *thresholds.Range `short:"w" long:"warning" value-name:"RANGE" description:"Warning range of the mode's main metric (its default depends on the mode: see the modes; a mode without a default alerts only when a range is given; refused with a mode without a main metric)"`
	Critical      *thresholds.Range `short:"c" long:"critical" value-name:"RANGE" description:"Critical range of the mode's main metric (its default depends on the mode: see the modes; refused with a mode without a main metric)"`
	DirtyWarning  *thresholds.Range `long:"dirty-warning" value-name:"RANGE" description:"wiredtiger-cache: warning range of the dirty part of the cache, percent (default 10)"`
	DirtyCritical *thresholds.Range `long:"dirty-critical" value-name:"RANGE" description:"wiredtiger-cache: critical range of the dirty part of the cache, percent (default 20)"`

	Database   string `long:"database" value-name:"DB" description:"Database for database-size, collection-size, index-size and read; collections, chunk-balance and jumbo-chunks: only this database (default: all)"`
	Collection string `long:"collection" value-name:"NAME" description:"Collection for collection-size, read (and index-size of one collection); chunk-balance and jumbo-chunks: only this collection of --database"`
	IgnoreID   LogIDs `long:"ignore-id" value-name:"ID" description:"startup-warnings: log id to ignore (repeatable or comma-separated, e.g. 22178,22181)"`

	state.Options
	ReplOptions
	ModeOptions
}

// Validate checks the options that depend on each other (a size mode
// needs --database, --member belongs to the lag modes), before any
// connection: the plugin runtime calls it once after parsing.
func (o *Options) Validate() error {
	if err := validURI(o.URI); err != nil {
		return err
	}
	if err := validHost(o.Host); err != nil {
		return err
	}
	if err := o.checkModeOptions(); err != nil {
		return err
	}
	m, known := modes[o.Mode]
	if known && !m.judgesMetric() {
		switch {
		case o.Warning != nil:
			return fmt.Errorf("-w/--warning does not apply to --mode %s, which judges no metric by a range", o.Mode)
		case o.Critical != nil:
			return fmt.Errorf("-c/--critical does not apply to --mode %s, which judges no metric by a range", o.Mode)
		}
	}
	if m.Validate != nil {
		return m.Validate(o)
	}
	return nil
}

// LogIDs is the --ignore-id option: MongoDB log ids, the option repeated
// or the ids separated by commas ("22178,22181").
type LogIDs []int

// UnmarshalFlag implements go-flags' Unmarshaler; it adds the ids of one
// occurrence of the option.
func (l *LogIDs) UnmarshalFlag(s string) error {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return plugin.OptionError("invalid --ignore-id %q: expected a log id such as 22178 (repeat the option or separate ids with commas)", plugin.Clip(p, 40))
		}
		*l = append(*l, n)
	}
	return nil
}

// Has reports whether id is one of the ids.
func (l LogIDs) Has(id int) bool {
	for _, v := range l {
		if v == id {
			return true
		}
	}
	return false
}
