// Package serveconf decodes and checks the serve section of keyrot.yaml:
// the listen address, TLS, authentication, the audit and apply schedules
// (cron expressions with time zones), run deadlines and the readiness
// threshold of keyrot serve. It is a leaf the configuration loader
// (internal/config) imports; the service itself is internal/serve.
package serveconf

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	// Time zones must resolve in a container without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Run kinds.
const (
	KindAudit = "audit"
	KindApply = "apply"
)

// Kinds are the kinds of run keyrot serve schedules, in order.
var Kinds = []string{KindAudit, KindApply}

// Defaults.
const (
	DefaultListen         = "127.0.0.1:9090"
	DefaultBearerTokenEnv = "KEYROT_SERVE_TOKEN"
	DefaultAuditCron      = "0 * * * *" // hourly, on the hour
	DefaultApplyCron      = "0 3 * * *" // daily at 03:00
	DefaultTimeZone       = "UTC"
	DefaultAuditDeadline  = time.Hour
	DefaultApplyDeadline  = 3 * time.Hour
	DefaultReadiness      = 6 * time.Hour
	DefaultDrainTimeout   = 2 * time.Minute
)

// Config is the serve section of keyrot.yaml, decoded and checked.
type Config struct {
	// Listen is host:port of the one HTTP listener.
	Listen string
	TLS    TLS
	Auth   Auth
	// Schedules holds the audit and apply schedules, by kind.
	Schedules map[string]Schedule
	// ReadinessThreshold: /readyz fails once the runs of a kind have been
	// failing for longer than this.
	ReadinessThreshold time.Duration
	// DrainTimeout bounds how long SIGTERM waits for the runs in flight.
	DrainTimeout time.Duration

	// lines maps the paths written in the file to their lines.
	lines yamlconf.Lines
}

// Line returns the line a path ("serve.listen") is written on, or of its
// nearest written ancestor; 0 when none is written.
func (c *Config) Line(path string) int { return c.lines.Nearest(path) }

// TLS names the certificate and key files; both empty serves plain HTTP.
type TLS struct {
	CertFile string
	KeyFile  string
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Auth says where the credentials of the HTTP API are: the names of the
// environment variables holding them, never the values.
type Auth struct {
	BearerTokenEnv string
	BasicUsername  string
	// BasicPasswordEnv names the variable holding the basic auth password.
	BasicPasswordEnv string
}

// Schedule is when runs of one kind start and how long they may take.
type Schedule struct {
	// Cron is the expression as written; TimeZone the zone it is read in.
	Cron     string
	TimeZone string
	// Deadline bounds one run: past it no new action is started.
	Deadline time.Duration
	// Disabled turns the schedule off (runs can still be started by POST).
	Disabled bool
	// Next returns the first start after t.
	Next cron.Schedule
	// Location is the time zone's location.
	Location *time.Location
}

// Default returns the configuration used when keyrot.yaml has no serve section.
func Default() *Config {
	c, probs := Decode("", nil, "serve")
	if len(probs) > 0 {
		panic("serveconf: defaults do not check: " + probs.Error())
	}
	return c
}

// section is the serve section as written in keyrot.yaml.
type section struct {
	Listen             string            `yaml:"listen"`
	TLS                tlsSection        `yaml:"tls"`
	Auth               authSection       `yaml:"auth"`
	Schedules          schedulesSection  `yaml:"schedules"`
	ReadinessThreshold yamlconf.Duration `yaml:"readiness_threshold"`
	DrainTimeout       yamlconf.Duration `yaml:"drain_timeout"`
}

type tlsSection struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

type authSection struct {
	BearerTokenEnv string       `yaml:"bearer_token_env"`
	Basic          basicSection `yaml:"basic"`
}

// UnknownKey explains a credential written in the file (it makes
// authSection a yamlconf.UnknownKeyer).
func (authSection) UnknownKey(key string) string {
	if key == "token" || key == "bearer_token" {
		return "secrets must not be written in keyrot.yaml: put the token in an environment variable and name the variable in bearer_token_env"
	}
	return ""
}

type basicSection struct {
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
}

// UnknownKey explains a password written in the file.
func (basicSection) UnknownKey(key string) string {
	if key == "password" {
		return "secrets must not be written in keyrot.yaml: put the password in an environment variable and name the variable in password_env"
	}
	return ""
}

type schedulesSection struct {
	Audit scheduleSection `yaml:"audit"`
	Apply scheduleSection `yaml:"apply"`
}

type scheduleSection struct {
	Cron     string            `yaml:"cron"`
	TimeZone string            `yaml:"time_zone"`
	Deadline yamlconf.Duration `yaml:"deadline"`
	Disabled bool              `yaml:"disabled"`
}

// Parser reads the cron expressions of keyrot.yaml: five fields (minute,
// hour, day of month, month, day of week) or six with seconds first, or a
// descriptor such as @hourly, @daily or @every 30m.
var Parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Decode decodes n, the serve section of keyrot.yaml (nil, empty or null
// for the defaults), strictly on top of the defaults, and checks it. path is
// the section's key path ("serve") and file names the source; every
// problem, sorted by line, says both and how to fix it. The configuration
// is only to be used when there are no problems.
func Decode(file string, n *yaml.Node, path string) (*Config, yamlconf.Problems) {
	s := section{
		Listen: DefaultListen,
		Auth:   authSection{BearerTokenEnv: DefaultBearerTokenEnv},
		Schedules: schedulesSection{
			Audit: scheduleSection{Cron: DefaultAuditCron, TimeZone: DefaultTimeZone, Deadline: yamlconf.Duration(DefaultAuditDeadline)},
			Apply: scheduleSection{Cron: DefaultApplyCron, TimeZone: DefaultTimeZone, Deadline: yamlconf.Duration(DefaultApplyDeadline)},
		},
		ReadinessThreshold: yamlconf.Duration(DefaultReadiness),
		DrainTimeout:       yamlconf.Duration(DefaultDrainTimeout),
	}
	d := yamlconf.NewDecoder(file)
	if n != nil && n.Kind != 0 {
		d.Decode(n, &s, path)
	}
	ck := &checker{d.Checker()}
	c := ck.config(&s, path)
	return c, ck.All()
}

type checker struct{ *yamlconf.Checker }

// add reports a problem at the line of path.
func (ck *checker) add(path, format string, args ...any) { ck.Addf(path, path, format, args...) }

func (ck *checker) config(s *section, path string) *Config {
	key := func(k string) string { return yamlconf.Join(path, k) }
	c := &Config{
		Listen:             s.Listen,
		TLS:                TLS{CertFile: s.TLS.CertFile, KeyFile: s.TLS.KeyFile},
		Auth:               Auth{BearerTokenEnv: s.Auth.BearerTokenEnv, BasicUsername: s.Auth.Basic.Username, BasicPasswordEnv: s.Auth.Basic.PasswordEnv},
		Schedules:          map[string]Schedule{},
		ReadinessThreshold: time.Duration(s.ReadinessThreshold),
		DrainTimeout:       time.Duration(s.DrainTimeout),
		lines:              ck.Lines,
	}
	if err := CheckListen(s.Listen); err != nil {
		ck.add(key("listen"), "%v", err)
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		ck.add(key("tls"), "cert_file and key_file go together: set both (PEM files) or neither for plain HTTP")
	}
	if v := s.Auth.BearerTokenEnv; v != "" && !envNameRE.MatchString(v) {
		ck.add(key("auth.bearer_token_env"), "%q is not an environment variable name: name the variable that holds the token (e.g. %s), not the token", v, DefaultBearerTokenEnv)
	}
	switch b := s.Auth.Basic; {
	case (b.Username == "") != (b.PasswordEnv == ""):
		ck.add(key("auth.basic"), "username and password_env go together: set both or neither")
	case b.PasswordEnv != "" && !envNameRE.MatchString(b.PasswordEnv):
		ck.add(key("auth.basic.password_env"), "%q is not an environment variable name: name the variable that holds the password (e.g. KEYROT_SERVE_PASSWORD)", b.PasswordEnv)
	}
	if c.ReadinessThreshold <= 0 {
		ck.add(key("readiness_threshold"), "must be positive (e.g. 6h)")
	}
	if c.DrainTimeout <= 0 {
		ck.add(key("drain_timeout"), "must be positive (e.g. 2m)")
	}
	for kind, ss := range map[string]scheduleSection{KindAudit: s.Schedules.Audit, KindApply: s.Schedules.Apply} {
		at := key("schedules." + kind)
		sc := Schedule{Cron: ss.Cron, TimeZone: ss.TimeZone, Deadline: time.Duration(ss.Deadline), Disabled: ss.Disabled}
		if sc.Deadline <= 0 {
			ck.add(at+".deadline", "must be positive (e.g. 1h)")
		}
		next, loc, err := ParseSchedule(ss.Cron, ss.TimeZone)
		switch {
		case err == nil:
			sc.Next, sc.Location = next, loc
		case strings.HasPrefix(err.Error(), "time zone"):
			ck.add(at+".time_zone", "%v", err)
		default:
			ck.add(at+".cron", "%v", err)
		}
		c.Schedules[kind] = sc
	}
	return c
}

// ParseSchedule parses a cron expression read in time zone tz (an IANA
// name such as Europe/Paris; empty is UTC). The expression may instead name
// its zone itself with a CRON_TZ= prefix, then tz must be empty or the same.
// Errors say how to write the expression.
func ParseSchedule(expr, tz string) (cron.Schedule, *time.Location, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil, fmt.Errorf("empty cron expression: write five fields (minute hour day-of-month month day-of-week), e.g. \"0 3 * * *\" for 03:00 daily, or @hourly, @daily, @every 30m")
	}
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		prefix, rest, _ := strings.Cut(expr, " ")
		_, zone, _ := strings.Cut(prefix, "=")
		if tz != "" && tz != DefaultTimeZone && tz != zone {
			return nil, nil, fmt.Errorf("the expression says %s but time_zone says %s: keep one of them", prefix, tz)
		}
		tz, expr = zone, strings.TrimSpace(rest)
	}
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, nil, fmt.Errorf("time zone %q is not known: use an IANA name such as UTC, Europe/Paris or America/New_York", tz)
	}
	s, err := Parser.Parse("CRON_TZ=" + tz + " " + expr)
	if err != nil {
		return nil, nil, fmt.Errorf("cron expression %q: %v: write five fields (minute hour day-of-month month day-of-week), e.g. \"0 3 * * *\" for 03:00 daily, six with seconds first, or @hourly, @daily, @every 30m", expr, err)
	}
	return s, loc, nil
}

// CheckListen checks a listen address: host:port with a port number; an
// empty host listens on every interface.
func CheckListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q is not host:port: write e.g. %s, or 0.0.0.0:9090 for every interface (which needs auth)", addr, DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("listen address %q has no valid port: write e.g. %s", addr, DefaultListen)
	}
	_ = host
	return nil
}

// IsLoopback reports whether addr (host:port) listens on the loopback
// interface only: localhost, 127.0.0.0/8 or ::1.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
