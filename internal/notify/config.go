package notify

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Channel types.
const (
	TypeSES     = "ses"
	TypeSMTP    = "smtp"
	TypeSNS     = "sns"
	TypeSlack   = "slack"
	TypeWebhook = "webhook"
)

// Central modes: what the security contact receives.
const (
	CentralNone   = "none"   // nothing beyond the items routed to it
	CentralCopy   = "copy"   // a copy (Cc) of every email digest
	CentralDigest = "digest" // one digest of every item of the run
)

// SMTP TLS modes.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
	TLSNone     = "none"
)

// Channel audiences: which digests a channel delivers.
const (
	AudienceAll     = "all"
	AudienceOwners  = "owners"
	AudienceCentral = "central"
)

// Config is the notify section of keyrot.yaml.
type Config struct {
	Channels []ChannelConfig
	// OwnerTags are the IAM user tags tried, in order, for the owner's
	// email address.
	OwnerTags []string
	// SecurityContact receives items with no other recipient, and the
	// central copy or digest.
	SecurityContact string
	// Central is none, copy or digest.
	Central string
	// Reminders are how many days before a deadline to remind, e.g. [7, 1].
	Reminders []int
	// DedupeWindow: the same notice is not sent twice within it.
	DedupeWindow time.Duration
	// TemplatesDir holds templates that override the embedded ones.
	TemplatesDir string
}

// ChannelConfig is one delivery channel. Which fields apply depends on Type.
type ChannelConfig struct {
	Type string `yaml:"type"`
	Name string `yaml:"name"`
	// Audience is all (default), owners or central.
	Audience string `yaml:"audience"`
	// From is the sender address (ses, smtp).
	From string `yaml:"from"`
	// Region is the AWS region (ses; sns defaults to the topic's).
	Region string `yaml:"region"`
	// Host, Port and TLS reach the SMTP server; Username and PasswordEnv
	// authenticate (the password is read from the named variable).
	Host        string `yaml:"host"`
	Port        int    `yaml:"port"`
	TLS         string `yaml:"tls"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// TopicARN is the SNS topic.
	TopicARN string `yaml:"topic_arn"`
	// URL, or the variable URLEnv names, is the Slack or webhook endpoint.
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
	// SecretEnv names the variable holding the webhook's HMAC key.
	SecretEnv string `yaml:"secret_env"`
	// line is where the channel starts in the file.
	line int
}

// Problem is one defect in the notify section. Path is relative to it,
// e.g. "channels[1].from"; Line is the line in the file, 0 if unknown.
type Problem struct {
	Line    int
	Path    string
	Message string
}

// String formats the problem as "line N: notify.path: message".
func (p Problem) String() string {
	path := "notify"
	if p.Path != "" {
		path += "." + p.Path
	}
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, path, p.Message)
	}
	return path + ": " + p.Message
}

// DefaultConfig returns the settings used when keyrot.yaml has no notify
// section: no channels, owner then email tags, no central copy, reminders 7
// and 1 days before, a 20-hour dedupe window.
func DefaultConfig() *Config {
	return &Config{
		OwnerTags:    []string{"owner", "email"},
		Central:      CentralNone,
		Reminders:    []int{7, 1},
		DedupeWindow: 20 * time.Hour,
	}
}

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	snsARNRE  = regexp.MustCompile(`^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

// fields each channel type accepts, besides type, name and audience.
var channelFields = map[string][]string{
	TypeSES:     {"from", "region"},
	TypeSMTP:    {"from", "host", "port", "tls", "username", "password_env"},
	TypeSNS:     {"topic_arn", "region"},
	TypeSlack:   {"url", "url_env"},
	TypeWebhook: {"url", "url_env", "secret_env"},
}

// secretFields are keys that would put a secret in the file, and the key
// that names its environment variable instead.
var secretFields = map[string]string{"password": "password_env", "secret": "secret_env", "token": "url_env"}

// UnknownKey explains a key that names no channel field (it makes
// ChannelConfig a yamlconf.UnknownKeyer): a secret written in the file, or
// a key the channel's type does not have.
func (ch *ChannelConfig) UnknownKey(key string) string {
	if env, ok := secretFields[key]; ok {
		return fmt.Sprintf("secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in %s", env)
	}
	if allowed, ok := channelFields[ch.Type]; ok {
		return fmt.Sprintf("unknown field for a %s channel; known fields are type, name, audience, %s", ch.Type, strings.Join(allowed, ", "))
	}
	return ""
}

// section is the notify section as written in keyrot.yaml.
type section struct {
	Channels        []ChannelConfig     `yaml:"channels"`
	OwnerTags       []string            `yaml:"owner_tags"`
	SecurityContact string              `yaml:"security_contact"`
	Central         string              `yaml:"central"`
	Reminders       []yamlconf.Duration `yaml:"reminders"`
	DedupeWindow    yamlconf.Duration   `yaml:"dedupe_window"`
	TemplatesDir    string              `yaml:"templates_dir"`
}

const day = 24 * time.Hour

// DecodeConfig decodes n, the notify section of keyrot.yaml (nil, empty or
// null for the defaults), with the strict decoder on top of DefaultConfig
// and checks it, each channel its own fields. path is the section's key
// path ("notify") and file names the source; every problem, sorted by
// line, says both. The configuration is only to be used when there are no
// problems.
func DecodeConfig(file string, n *yaml.Node, path string) (*Config, yamlconf.Problems) {
	def := DefaultConfig()
	s := section{OwnerTags: def.OwnerTags, Central: def.Central, DedupeWindow: yamlconf.Duration(def.DedupeWindow)}
	for _, r := range def.Reminders {
		s.Reminders = append(s.Reminders, yamlconf.Duration(time.Duration(r)*day))
	}
	d := yamlconf.NewDecoder(file)
	if n != nil && n.Kind != 0 {
		d.Decode(n, &s, path)
	}
	ck := &checker{d.Checker()}
	c := ck.config(&s, path)
	return c, ck.All()
}

// ParseConfig decodes and checks the notify section from its YAML node as
// DecodeConfig does, with problems relative to the section (Path
// "channels[1].from") and no file name. keyrot.yaml is loaded with
// internal/config; this is for callers holding the section's node alone.
func ParseConfig(node *yaml.Node) (*Config, []Problem) {
	c, probs := DecodeConfig("", node, "notify")
	var out []Problem
	for _, p := range probs {
		path := strings.TrimPrefix(strings.TrimPrefix(p.Path, "notify"), ".")
		out = append(out, Problem{Line: p.Line, Path: path, Message: p.Message})
	}
	return c, out
}

// checker checks a decoded notify section; it stays quiet about values the
// decoder already reported.
type checker struct{ *yamlconf.Checker }

// has reports whether path is written in the file.
func (ck *checker) has(path string) bool {
	_, ok := ck.Lines[path]
	return ok
}

func (ck *checker) config(s *section, path string) *Config {
	key := func(k string) string { return yamlconf.Join(path, k) }
	c := &Config{
		OwnerTags:       s.OwnerTags,
		SecurityContact: s.SecurityContact,
		Central:         s.Central,
		DedupeWindow:    time.Duration(s.DedupeWindow),
		TemplatesDir:    s.TemplatesDir,
	}
	names := map[string]int{}
	for i := range s.Channels {
		p := yamlconf.Index(key("channels"), i)
		ch := s.Channels[i]
		if !ck.channel(&ch, p) {
			continue
		}
		if prev, dup := names[ch.Name]; dup {
			ck.Addf(p, p+".name", "channel name %q is already used by channels[%d]; give each channel its own name", ch.Name, prev)
		}
		names[ch.Name] = i
		c.Channels = append(c.Channels, ch)
	}
	if ck.has(key("owner_tags")) && len(s.OwnerTags) == 0 {
		ck.Addf(key("owner_tags"), key("owner_tags"), "must name at least one tag, e.g. [owner, email]")
	}
	if s.SecurityContact != "" {
		ck.email(key("security_contact"), s.SecurityContact)
	}
	switch s.Central {
	case CentralNone:
	case CentralCopy, CentralDigest:
		if s.SecurityContact == "" {
			ck.Addf(path, key("security_contact"), "is required when central is %s: give the security team's email address", s.Central)
		}
	default:
		ck.Addf(key("central"), key("central"), "must be none, copy or digest (got %q)", s.Central)
	}
	seen := map[int]bool{}
	for i, r := range s.Reminders {
		p := yamlconf.Index(key("reminders"), i)
		if r <= 0 || !r.WholeDays() {
			ck.Addf(p, p, "must be a whole number of days such as 7d (got %q)", short(r))
			continue
		}
		if k := r.Days(); !seen[k] {
			seen[k] = true
			c.Reminders = append(c.Reminders, k)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(c.Reminders)))
	if s.DedupeWindow <= 0 {
		ck.Addf(key("dedupe_window"), key("dedupe_window"), "must be more than 0, e.g. 20h (got %s)", short(s.DedupeWindow))
	}
	return c
}

// short formats d as written: 7d, 36h, 1h30m.
func short(d yamlconf.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (ck *checker) email(path, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || !validAddress(a.Address) {
		ck.Addf(path, path, "is not a valid email address (got %q); write it as name@example.com or \"Name <name@example.com>\"", s)
	}
}

// validAddress reports whether addr (already parsed by net/mail) has a
// local part and a domain.
func validAddress(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && at < len(addr)-1
}

// channel checks one channel and fills in its defaults; it reports false
// when the channel is unusable (not a mapping, or no known type).
func (ck *checker) channel(ch *ChannelConfig, path string) bool {
	for _, p := range ck.Decoded {
		if p.Path == path {
			return false // not a mapping: the decoder said so
		}
	}
	key := func(k string) string { return path + "." + k }
	ch.line = ck.Lines[path]
	if !ck.has(key("type")) {
		ck.Addf(path, key("type"), "is required: ses, smtp, sns, slack or webhook")
		return false
	}
	allowed, known := channelFields[ch.Type]
	if !known {
		ck.Addf(key("type"), key("type"), "unknown channel type %q; use ses, smtp, sns, slack or webhook", ch.Type)
		return false
	}
	vals := map[string]string{
		"from": ch.From, "region": ch.Region, "host": ch.Host, "tls": ch.TLS, "username": ch.Username,
		"password_env": ch.PasswordEnv, "topic_arn": ch.TopicARN, "url": ch.URL, "url_env": ch.URLEnv, "secret_env": ch.SecretEnv,
	}
	for _, name := range append(sortedKeys(vals), "port") {
		if ck.has(key(name)) && !contains(allowed, name) {
			ck.Addf(key(name), key(name), "%s", ch.UnknownKey(name))
		}
	}
	if ch.Name == "" {
		ch.Name = ch.Type
	}
	switch ch.Audience {
	case "":
		ch.Audience = AudienceAll
	case AudienceAll, AudienceOwners, AudienceCentral:
	default:
		ck.Addf(key("audience"), key("audience"), "must be all, owners or central (got %q)", ch.Audience)
	}
	need := func(name, what string) bool {
		if vals[name] == "" {
			ck.Addf(key(name), key(name), "is required for a %s channel: %s", ch.Type, what)
			return false
		}
		return true
	}
	env := func(name string) {
		if v := vals[name]; v != "" && !envNameRE.MatchString(v) {
			ck.Addf(key(name), key(name), "must be the name of an environment variable, such as KEYROT_SMTP_PASSWORD (got %q)", v)
		}
	}
	region := func() {
		if ch.Region != "" && !regionRE.MatchString(ch.Region) {
			ck.Addf(key("region"), key("region"), "must be an AWS region such as us-east-1 (got %q)", ch.Region)
		}
	}
	switch ch.Type {
	case TypeSES, TypeSMTP:
		if need("from", "the sender's email address, e.g. keyrot@example.com") {
			ck.email(key("from"), ch.From)
		}
		region()
	}
	switch ch.Type {
	case TypeSMTP:
		need("host", "the SMTP server's host name")
		if ck.has(key("port")) && (ch.Port < 1 || ch.Port > 65535) {
			ck.Addf(key("port"), key("port"), "must be a TCP port between 1 and 65535 (got %d)", ch.Port)
		}
		switch ch.TLS {
		case "":
			ch.TLS = TLSStartTLS
		case TLSStartTLS, TLSImplicit, TLSNone:
		default:
			ck.Addf(key("tls"), key("tls"), "must be starttls, implicit or none (got %q)", ch.TLS)
		}
		if ch.Port == 0 {
			ch.Port = map[string]int{TLSImplicit: 465, TLSNone: 25}[ch.TLS]
			if ch.Port == 0 {
				ch.Port = 587
			}
		}
		if ch.Username != "" && ch.PasswordEnv == "" {
			ck.Addf(key("username"), key("password_env"), "is required with username: name the environment variable that holds the password")
		}
		if ch.PasswordEnv != "" && ch.Username == "" {
			ck.Addf(key("password_env"), key("username"), "is required with password_env")
		}
		if ch.TLS == TLSNone && ch.Username != "" {
			ck.Addf(key("tls"), key("tls"), "none would send the password in clear text; use starttls or implicit with username")
		}
		env("password_env")
	case TypeSNS:
		if need("topic_arn", "the SNS topic's ARN") && !snsARNRE.MatchString(ch.TopicARN) {
			ck.Addf(key("topic_arn"), key("topic_arn"), "must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:keyrot (got %q)", ch.TopicARN)
		}
		region()
	case TypeSlack, TypeWebhook:
		switch {
		case ch.URL == "" && ch.URLEnv == "":
			ck.Addf(path, key("url"), "is required for a %s channel: give url, or url_env naming an environment variable that holds it", ch.Type)
		case ch.URL != "" && ch.URLEnv != "":
			ck.Addf(key("url_env"), key("url_env"), "give url or url_env, not both")
		case ch.URL != "":
			if msg := checkURL(ch.URL, true); msg != "" {
				ck.Addf(key("url"), key("url"), "%s", msg)
			}
		}
		env("url_env")
		if ch.Type == TypeWebhook {
			need("secret_env", "the name of the environment variable holding the HMAC signing key")
			env("secret_env")
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkURL returns why u is not an acceptable endpoint, or "". With show
// false the message does not repeat u (a URL from the environment may be a
// secret, such as a Slack webhook URL).
func checkURL(u string, show bool) string {
	got := func(format string, v string) string {
		if !show {
			return ""
		}
		return fmt.Sprintf(format, v)
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" || pu.Opaque != "" {
		return "is not a valid URL" + got(" (got %q)", u) + "; write it as https://host/path"
	}
	switch pu.Scheme {
	case "https":
		return ""
	case "http":
		if isLocalhost(pu.Hostname()) {
			return ""
		}
		return "must use https (http is allowed only for localhost)" + got(" (got %q)", pu.Redacted())
	}
	return fmt.Sprintf("must be an https URL (got scheme %q)", pu.Scheme)
}

func isLocalhost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
