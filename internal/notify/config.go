package notify

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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
	Type string
	Name string
	// Audience is all (default), owners or central.
	Audience string
	// From is the sender address (ses, smtp).
	From string
	// Region is the AWS region (ses; sns defaults to the topic's).
	Region string
	// Host, Port and TLS reach the SMTP server; Username and PasswordEnv
	// authenticate (the password is read from the named variable).
	Host        string
	Port        int
	TLS         string
	Username    string
	PasswordEnv string
	// TopicARN is the SNS topic.
	TopicARN string
	// URL, or the variable URLEnv names, is the Slack or webhook endpoint.
	URL    string
	URLEnv string
	// SecretEnv names the variable holding the webhook's HMAC key.
	SecretEnv string
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

type parser struct {
	probs []Problem
}

func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.probs = append(p.probs, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// ParseConfig decodes and checks the notify section from its YAML node
// (nil, empty or null means the defaults). It returns the configuration and
// every problem found, each with its line; the configuration is only to be
// used when there are no problems.
func ParseConfig(node *yaml.Node) (*Config, []Problem) {
	c := DefaultConfig()
	p := &parser{}
	n := node
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return c, nil
	}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.add(n, "", "must be a mapping with channels, owner_tags, security_contact, central, reminders, dedupe_window and templates_dir")
		return c, p.probs
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		switch k.Value {
		case "channels":
			p.channels(v, c)
		case "owner_tags":
			if tags, ok := p.strings(v, "owner_tags"); ok {
				c.OwnerTags = tags
				if len(tags) == 0 {
					p.add(v, "owner_tags", "must name at least one tag, e.g. [owner, email]")
				}
			}
		case "security_contact":
			if s, ok := p.scalar(v, "security_contact"); ok {
				c.SecurityContact = s
				if s != "" {
					p.email(v, "security_contact", s)
				}
			}
		case "central":
			if s, ok := p.scalar(v, "central"); ok {
				c.Central = s
				if s != CentralNone && s != CentralCopy && s != CentralDigest {
					p.add(v, "central", "must be none, copy or digest (got %q)", s)
				}
			}
		case "reminders":
			p.reminders(v, c)
		case "dedupe_window":
			if s, ok := p.scalar(v, "dedupe_window"); ok {
				d, err := parseDuration(s)
				switch {
				case err != nil:
					p.add(v, "dedupe_window", "%v", err)
				case d <= 0:
					p.add(v, "dedupe_window", "must be more than 0, e.g. 20h (got %s)", s)
				default:
					c.DedupeWindow = d
				}
			}
		case "templates_dir":
			if s, ok := p.scalar(v, "templates_dir"); ok {
				c.TemplatesDir = s
			}
		default:
			p.add(k, k.Value, "unknown field; known fields are channels, owner_tags, security_contact, central, reminders, dedupe_window, templates_dir")
		}
	}
	if c.Central != CentralNone && c.SecurityContact == "" && validCentral(c.Central) {
		p.add(n, "security_contact", "is required when central is %s: give the security team's email address", c.Central)
	}
	sort.SliceStable(p.probs, func(i, j int) bool { return p.probs[i].Line < p.probs[j].Line })
	return c, p.probs
}

func validCentral(s string) bool { return s == CentralCopy || s == CentralDigest }

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (p *parser) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.add(n, path, "must be a single value, not a list or mapping")
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func (p *parser) strings(n *yaml.Node, path string) ([]string, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list")
		return nil, false
	}
	var out []string
	ok := true
	for i, e := range n.Content {
		e = resolve(e)
		s, good := p.scalar(e, fmt.Sprintf("%s[%d]", path, i))
		if !good {
			ok = false
			continue
		}
		out = append(out, s)
	}
	return out, ok
}

func (p *parser) email(n *yaml.Node, path, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || !validAddress(a.Address) {
		p.add(n, path, "is not a valid email address (got %q); write it as name@example.com or \"Name <name@example.com>\"", s)
	}
}

// validAddress reports whether addr (already parsed by net/mail) has a
// local part and a domain.
func validAddress(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && at < len(addr)-1
}

func (p *parser) reminders(n *yaml.Node, c *Config) {
	list, ok := p.strings(n, "reminders")
	if !ok {
		return
	}
	seen := map[int]bool{}
	var days []int
	for i, s := range list {
		e := resolve(n.Content[i])
		path := fmt.Sprintf("reminders[%d]", i)
		d, err := parseDuration(s)
		if err != nil {
			p.add(e, path, "%v", err)
			continue
		}
		if d <= 0 || d%(24*time.Hour) != 0 {
			p.add(e, path, "must be a whole number of days such as 7d (got %q)", s)
			continue
		}
		k := int(d / (24 * time.Hour))
		if !seen[k] {
			seen[k] = true
			days = append(days, k)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(days)))
	c.Reminders = days
}

func (p *parser) channels(n *yaml.Node, c *Config) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n, "channels", "must be a list of channels, each with a type: ses, smtp, sns, slack or webhook")
		return
	}
	names := map[string]int{}
	for i, e := range n.Content {
		e = resolve(e)
		path := fmt.Sprintf("channels[%d]", i)
		ch, ok := p.channel(e, path)
		if !ok {
			continue
		}
		if prev, dup := names[ch.Name]; dup {
			p.add(e, path+".name", "channel name %q is already used by channels[%d]; give each channel its own name", ch.Name, prev)
		}
		names[ch.Name] = i
		c.Channels = append(c.Channels, ch)
	}
}

func (p *parser) channel(n *yaml.Node, path string) (ChannelConfig, bool) {
	ch := ChannelConfig{line: n.Line, Audience: AudienceAll}
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping with a type: ses, smtp, sns, slack or webhook")
		return ch, false
	}
	vals := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		vals[k.Value], keys[k.Value] = v, k
	}
	tn, ok := vals["type"]
	if !ok {
		p.add(n, path+".type", "is required: ses, smtp, sns, slack or webhook")
		return ch, false
	}
	ch.Type, _ = p.scalar(tn, path+".type")
	allowed, known := channelFields[ch.Type]
	if !known {
		p.add(tn, path+".type", "unknown channel type %q; use ses, smtp, sns, slack or webhook", ch.Type)
		return ch, false
	}
	str := func(name string) string {
		v, ok := vals[name]
		if !ok {
			return ""
		}
		s, _ := p.scalar(v, path+"."+name)
		return s
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		switch name := k.Value; {
		case name == "type" || name == "name" || name == "audience":
		case name == "password" || name == "secret" || name == "token":
			env := map[string]string{"password": "password_env", "secret": "secret_env", "token": "url_env"}[name]
			p.add(k, path+"."+name, "secrets must not be written in keyrot.yaml: put the value in an environment variable and name the variable in %s", env)
		case !contains(allowed, name):
			p.add(k, path+"."+name, "unknown field for a %s channel; known fields are type, name, audience, %s", ch.Type, strings.Join(allowed, ", "))
		}
	}
	ch.Name = str("name")
	if ch.Name == "" {
		ch.Name = ch.Type
	}
	if a := str("audience"); a != "" {
		ch.Audience = a
		if a != AudienceAll && a != AudienceOwners && a != AudienceCentral {
			p.add(vals["audience"], path+".audience", "must be all, owners or central (got %q)", a)
		}
	}
	ch.From, ch.Region, ch.Host, ch.TLS = str("from"), str("region"), str("host"), str("tls")
	ch.Username, ch.PasswordEnv, ch.TopicARN = str("username"), str("password_env"), str("topic_arn")
	ch.URL, ch.URLEnv, ch.SecretEnv = str("url"), str("url_env"), str("secret_env")
	need := func(name, what string) bool {
		if _, ok := vals[name]; !ok || str(name) == "" {
			at := vals[name]
			if at == nil {
				at = n
			}
			p.add(at, path+"."+name, "is required for a %s channel: %s", ch.Type, what)
			return false
		}
		return true
	}
	env := func(name string) {
		if v := str(name); v != "" && !envNameRE.MatchString(v) {
			p.add(vals[name], path+"."+name, "must be the name of an environment variable, such as KEYROT_SMTP_PASSWORD (got %q)", v)
		}
	}
	region := func() {
		if ch.Region != "" && !regionRE.MatchString(ch.Region) {
			p.add(vals["region"], path+".region", "must be an AWS region such as us-east-1 (got %q)", ch.Region)
		}
	}
	switch ch.Type {
	case TypeSES, TypeSMTP:
		if need("from", "the sender's email address, e.g. keyrot@example.com") {
			p.email(vals["from"], path+".from", ch.From)
		}
		region()
	}
	switch ch.Type {
	case TypeSMTP:
		need("host", "the SMTP server's host name")
		if v, ok := vals["port"]; ok {
			s, _ := p.scalar(v, path+".port")
			port, err := strconv.Atoi(s)
			if err != nil || port < 1 || port > 65535 {
				p.add(v, path+".port", "must be a TCP port between 1 and 65535 (got %q)", s)
			}
			ch.Port = port
		}
		switch ch.TLS {
		case "":
			ch.TLS = TLSStartTLS
		case TLSStartTLS, TLSImplicit, TLSNone:
		default:
			p.add(vals["tls"], path+".tls", "must be starttls, implicit or none (got %q)", ch.TLS)
		}
		if ch.Port == 0 {
			ch.Port = map[string]int{TLSImplicit: 465, TLSNone: 25}[ch.TLS]
			if ch.Port == 0 {
				ch.Port = 587
			}
		}
		if ch.Username != "" && ch.PasswordEnv == "" {
			p.add(keys["username"], path+".password_env", "is required with username: name the environment variable that holds the password")
		}
		if ch.PasswordEnv != "" && ch.Username == "" {
			p.add(keys["password_env"], path+".username", "is required with password_env")
		}
		if ch.TLS == TLSNone && ch.Username != "" {
			p.add(vals["tls"], path+".tls", "none would send the password in clear text; use starttls or implicit with username")
		}
		env("password_env")
	case TypeSNS:
		if need("topic_arn", "the SNS topic's ARN") && !snsARNRE.MatchString(ch.TopicARN) {
			p.add(vals["topic_arn"], path+".topic_arn", "must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:keyrot (got %q)", ch.TopicARN)
		}
		region()
	case TypeSlack, TypeWebhook:
		switch {
		case ch.URL == "" && ch.URLEnv == "":
			p.add(n, path+".url", "is required for a %s channel: give url, or url_env naming an environment variable that holds it", ch.Type)
		case ch.URL != "" && ch.URLEnv != "":
			p.add(vals["url_env"], path+".url_env", "give url or url_env, not both")
		case ch.URL != "":
			if msg := checkURL(ch.URL, true); msg != "" {
				p.add(vals["url"], path+".url", "%s", msg)
			}
		}
		env("url_env")
		if ch.Type == TypeWebhook {
			need("secret_env", "the name of the environment variable holding the HMAC signing key")
			env("secret_env")
		}
	}
	return ch, true
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

// parseDuration accepts Go durations and whole days such as "7d".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 || d > 3650 {
			return 0, fmt.Errorf("must be a duration such as 7d or 20h (got %q)", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as 7d or 20h (got %q)", s)
	}
	return d, nil
}
