package nginx

import (
	"errors"
	"net"
	"net/netip"

	"github.com/opschecks/opschecks/internal/plugin"
	"github.com/opschecks/opschecks/internal/state"
	"github.com/opschecks/opschecks/internal/target"
	"github.com/opschecks/opschecks/thresholds"
)

// Options are check_nginx_queue's options, declared once: the binary
// parses them and the check reads them as its configuration. Single
// values are checked by their types when parsed, combinations by
// Validate.
type Options struct {
	state.Options
	target.Process
	Port           []plugin.Port    `short:"p" long:"port" value-name:"PORT" description:"Check the listeners on this TCP port (repeatable)"`
	Listen         []Listen         `short:"l" long:"listen" value-name:"ADDR:PORT" description:"Check the listener serving this address, e.g. 127.0.0.1:8080, [::]:443, *:80 (repeatable)"`
	Warning        thresholds.Range `short:"w" long:"warning" default:"50" value-name:"RANGE" description:"Warning range for accept queue fill in percent of the backlog"`
	Critical       thresholds.Range `short:"c" long:"critical" default:"90" value-name:"RANGE" description:"Critical range for accept queue fill in percent of the backlog"`
	DropsWarning   thresholds.Range `long:"drops-warning" default:"0" value-name:"RANGE" description:"Warning range for dropped connections per second (kernel listen drops, nginx accepts-handled)"`
	DropsCritical  thresholds.Range `long:"drops-critical" default:"10" value-name:"RANGE" description:"Critical range for dropped connections per second"`
	ExpectBacklog  *plugin.Int      `long:"expect-backlog" value-name:"N" description:"Warn when a listener's effective backlog is below N (clipped by net.core.somaxconn or not set in nginx)"`
	StatusURL      string           `long:"status-url" value-name:"URL" description:"nginx stub_status URL (http or https), e.g. http://127.0.0.1/nginx_status"`
	StatusInsecure bool             `long:"status-insecure" description:"Do not verify the TLS certificate of --status-url"`
	StatusHost     string           `long:"status-host" value-name:"HOST[:PORT]" description:"Host header for --status-url (and the TLS name sent and verified over https): a status location on a name-based virtual host reached by address"`
	StatusUser     string           `long:"status-user" value-name:"USER" description:"User for HTTP basic authentication of --status-url"`
	StatusPassFile string           `long:"status-password-file" value-name:"FILE" description:"Read the password of --status-user from FILE (first line); never shown in the output"`
	Capacity
	SynSide
	HostSide
}

// Capacity are the thresholds on what stub_status reports, all off
// unless given.
type Capacity struct {
	ActiveWarning        *thresholds.Range `long:"active-warning" value-name:"RANGE" description:"Warning range for stub_status Active connections (off unless given; needs --status-url)"`
	ActiveCritical       *thresholds.Range `long:"active-critical" value-name:"RANGE" description:"Critical range for stub_status Active connections"`
	WaitingWarning       *thresholds.Range `long:"waiting-warning" value-name:"RANGE" description:"Warning range for stub_status Waiting (idle keep-alive) connections (off unless given)"`
	WaitingCritical      *thresholds.Range `long:"waiting-critical" value-name:"RANGE" description:"Critical range for stub_status Waiting connections"`
	RequestsRateWarning  *thresholds.Range `long:"requests-rate-warning" value-name:"RANGE" description:"Warning range for requests per second (stub_status requests; off unless given)"`
	RequestsRateCritical *thresholds.Range `long:"requests-rate-critical" value-name:"RANGE" description:"Critical range for requests per second"`
	AcceptsRateWarning   *thresholds.Range `long:"accepts-rate-warning" value-name:"RANGE" description:"Warning range for connections accepted per second (stub_status accepts; off unless given)"`
	AcceptsRateCritical  *thresholds.Range `long:"accepts-rate-critical" value-name:"RANGE" description:"Critical range for connections accepted per second"`
}

// given names the first capacity option given, "" for none.
func (c Capacity) given() string {
	for _, o := range []struct {
		r    *thresholds.Range
		name string
	}{
		{c.ActiveWarning, "active-warning"}, {c.ActiveCritical, "active-critical"},
		{c.WaitingWarning, "waiting-warning"}, {c.WaitingCritical, "waiting-critical"},
		{c.RequestsRateWarning, "requests-rate-warning"}, {c.RequestsRateCritical, "requests-rate-critical"},
		{c.AcceptsRateWarning, "accepts-rate-warning"}, {c.AcceptsRateCritical, "accepts-rate-critical"},
	} {
		if o.r != nil {
			return "--" + o.name
		}
	}
	return ""
}

// Validate checks the options together, once, when they are parsed.
func (o *Options) Validate() error {
	switch {
	case !o.Process.Set() && len(o.Port) == 0 && len(o.Listen) == 0:
		return errors.New("nothing to check: give --port, --listen, --pid, --pidfile or --process (e.g. --process nginx)")
	case o.ExpectBacklog != nil && *o.ExpectBacklog < 1:
		return plugin.OptionError("invalid --expect-backlog %d: expected a number of connections, 1 or more", *o.ExpectBacklog)
	case !o.Process.Set() && o.openFilesGiven() != "":
		return plugin.OptionError("%s is about nginx's workers (their open files against RLIMIT_NOFILE): give --pid, --pidfile or --process too", o.openFilesGiven())
	}
	if o.StatusURL == "" {
		for _, g := range []struct {
			set  bool
			name string
		}{
			{o.StatusHost != "", "--status-host"}, {o.StatusUser != "", "--status-user"},
			{o.StatusPassFile != "", "--status-password-file"}, {o.StatusInsecure, "--status-insecure"},
			{o.Capacity.given() != "", o.Capacity.given()},
		} {
			if g.set {
				return plugin.OptionError("%s is about the stub_status page: give --status-url too", g.name)
			}
		}
		return nil
	}
	u, err := parseStatusURL(o.StatusURL)
	if err != nil {
		return err
	}
	switch {
	case o.StatusHost != "" && !validHost(o.StatusHost):
		return plugin.OptionError("invalid --status-host %q: expected a host name or address, optionally with :PORT (status.example.com, status.example.com:8080)", plugin.Clip(o.StatusHost, 40))
	case o.StatusUser != "" && u.User != nil:
		return plugin.OptionError("--status-user and a user in --status-url: give the credentials once (--status-user with --status-password-file keeps the password out of the process list)")
	case o.StatusPassFile != "" && o.StatusUser == "":
		return plugin.OptionError("--status-password-file needs --status-user")
	case o.StatusUser != "" && o.StatusPassFile == "":
		return plugin.OptionError("--status-user needs --status-password-file (the password on its first line)")
	}
	return nil
}

// validHost accepts HOST or HOST:PORT with a host name or address and
// nothing that could end or extend a header line.
func validHost(s string) bool {
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		if _, err := plugin.ParsePort(p); err != nil {
			return false
		}
		host = h
	}
	if host == "" || len(host) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// fillThresholds judges a listener's accept queue fill.
func (o *Options) fillThresholds() thresholds.Pair {
	return thresholds.NewPair(&o.Warning, &o.Critical)
}

// dropThresholds judges the drop rates.
func (o *Options) dropThresholds() thresholds.Pair {
	return thresholds.NewPair(&o.DropsWarning, &o.DropsCritical)
}

// Listen is a --listen value: ADDR:PORT, [IPv6]:PORT, or *:PORT /
// 0.0.0.0:PORT for the wildcard.
type Listen struct{ netip.AddrPort }

// UnmarshalFlag implements go-flags' Unmarshaler.
func (l *Listen) UnmarshalFlag(s string) error {
	ap, err := ParseListen(s)
	if err != nil {
		return err
	}
	l.AddrPort = ap
	return nil
}
