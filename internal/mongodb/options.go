package mongodb

import (
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/thresholds"
)

// Options are check_mongodb's options: connection, auth, TLS, mode,
// thresholds and the database/collection a size mode looks at. The
// replica-set modes add theirs through the embedded ReplOptions.
type Options struct {
	URI        string `long:"uri" value-name:"URI" description:"Connection string, mongodb://... or mongodb+srv://...; replaces --host and --port. A password in it is never shown (prefer --password-file or MONGODB_PASSWORD)"`
	Host       string `short:"H" long:"host" default:"127.0.0.1" value-name:"HOST" description:"Server to check (ignored with --uri)"`
	Port       int    `short:"P" long:"port" default:"27017" value-name:"PORT" description:"Port of the server (ignored with --uri)"`
	ReplicaSet string `long:"replica-set" value-name:"NAME" description:"Connect to the replica set NAME through the given host(s) instead of directly to the one host"`

	User          string `short:"u" long:"user" value-name:"USER" description:"User to authenticate as (overrides a user in --uri)"`
	PasswordFile  string `long:"password-file" value-name:"FILE" description:"Read the password from FILE (first line); the environment variable MONGODB_PASSWORD is used otherwise"`
	Password      string `long:"password" value-name:"PASSWORD" description:"Password; VISIBLE IN THE PROCESS LIST to other users of the host, prefer --password-file or MONGODB_PASSWORD"`
	AuthDB        string `long:"authdb" default:"admin" value-name:"DB" description:"Database that holds the user ($external is used for MONGODB-X509 and PLAIN unless set otherwise)"`
	AuthMechanism string `long:"auth-mechanism" value-name:"MECHANISM" description:"Authentication mechanism: SCRAM-SHA-256, SCRAM-SHA-1, MONGODB-X509 or PLAIN (default: negotiated with the server, SCRAM-SHA-256 where it is available)"`

	TLS            bool   `long:"tls" description:"Connect with TLS"`
	TLSCAFile      string `long:"tls-ca-file" value-name:"FILE" description:"PEM file of the CA(s) that signed the server certificate (implies --tls; default: the system roots)"`
	TLSCertKeyFile string `long:"tls-cert-key-file" value-name:"FILE" description:"PEM file holding the client certificate and its key (implies --tls; needed for MONGODB-X509)"`
	TLSInsecure    bool   `long:"tls-insecure" description:"Do not verify the server certificate or host name (implies --tls; for tests only)"`

	Mode string `short:"m" long:"mode" default:"connect" value-name:"MODE" description:"What to check: connect, connections, memory, wiredtiger-cache, queues, opcounters, asserts, database-size, collection-size, index-size, startup-warnings, and the replica-set modes (see the documentation for each mode's thresholds)"`

	Warning       *thresholds.Range `short:"w" long:"warning" value-name:"RANGE" description:"Warning range of the mode's main metric (the default depends on the mode: connect 1 s, connections 80 %, wiredtiger-cache 95 %, queues 10, replication-lag 60 s, replication-lag-percent 50 %, oplog-window 24: hours; the other modes alert only when a range is given)"`
	Critical      *thresholds.Range `short:"c" long:"critical" value-name:"RANGE" description:"Critical range of the mode's main metric (the default depends on the mode: connect 3 s, connections 90 %, wiredtiger-cache 99 %, queues 50, replication-lag 300 s, replication-lag-percent 80 %, oplog-window 4: hours)"`
	DirtyWarning  *thresholds.Range `long:"dirty-warning" value-name:"RANGE" description:"wiredtiger-cache: warning range of the dirty part of the cache, percent (default 10)"`
	DirtyCritical *thresholds.Range `long:"dirty-critical" value-name:"RANGE" description:"wiredtiger-cache: critical range of the dirty part of the cache, percent (default 20)"`

	Database   string   `long:"database" value-name:"DB" description:"Database for database-size, collection-size and index-size"`
	Collection string   `long:"collection" value-name:"NAME" description:"Collection for collection-size (and index-size of one collection)"`
	IgnoreID   []string `long:"ignore-id" value-name:"ID" description:"startup-warnings: log id to ignore (repeatable or comma-separated, e.g. 22178,22181)"`

	state.Options
	ReplOptions
}
