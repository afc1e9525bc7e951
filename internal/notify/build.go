package notify

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Deps are what BuildTargets needs to make channels.
type Deps struct {
	// AWS is the configuration SES and SNS clients are made from; a
	// channel's region (or its topic's) overrides AWS.Region.
	AWS aws.Config
	// Getenv reads the variables named by password_env, url_env and
	// secret_env; defaults to os.Getenv.
	Getenv func(string) string
	// HTTPClient posts to Slack and webhooks; defaults to a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	// SMTPTLSConfig, if set, is used by every SMTP channel (custom roots).
	SMTPTLSConfig *tls.Config
}

// ErrMissingEnv means a variable a channel needs is not set.
var ErrMissingEnv = errors.New("environment variable not set")

// BuildTargets makes the configured channels. It fails if a variable a
// channel names is unset; it does not contact anything.
func BuildTargets(cfg *Config, deps Deps) ([]Target, error) {
	getenv := deps.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	hc := deps.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	env := func(ch ChannelConfig, field, name string) (string, error) {
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("notify channel %s (line %d): %s names %s: %w", ch.Name, ch.line, field, name, ErrMissingEnv)
		}
		return v, nil
	}
	var out []Target
	var errs []error
	for _, ch := range cfg.Channels {
		var c Channel
		switch ch.Type {
		case TypeSES:
			c = NewSES(ch.Name, ch.From, sesv2.NewFromConfig(deps.AWS, func(o *sesv2.Options) {
				if ch.Region != "" {
					o.Region = ch.Region
				}
			}))
		case TypeSNS:
			region := ch.Region
			if region == "" {
				region = regionOfARN(ch.TopicARN)
			}
			c = NewSNS(ch.Name, ch.TopicARN, sns.NewFromConfig(deps.AWS, func(o *sns.Options) { o.Region = region }))
		case TypeSMTP:
			o := SMTPOptions{Name: ch.Name, From: ch.From, Host: ch.Host, Port: ch.Port, TLS: ch.TLS, Username: ch.Username, TLSConfig: deps.SMTPTLSConfig}
			if ch.PasswordEnv != "" {
				pw, err := env(ch, "password_env", ch.PasswordEnv)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				o.Password = Secret(pw)
			}
			c = NewSMTP(o)
		case TypeSlack, TypeWebhook:
			u := ch.URL
			if ch.URLEnv != "" {
				v, err := env(ch, "url_env", ch.URLEnv)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if msg := checkURL(v, false); msg != "" {
					errs = append(errs, fmt.Errorf("notify channel %s: the URL in %s %s", ch.Name, ch.URLEnv, msg))
					continue
				}
				u = v
			}
			if ch.Type == TypeSlack {
				c = NewSlack(ch.Name, u, hc)
				break
			}
			secret, err := env(ch, "secret_env", ch.SecretEnv)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c = NewWebhook(ch.Name, u, []byte(secret), hc)
		default:
			errs = append(errs, fmt.Errorf("notify channel %s: unknown type %q", ch.Name, ch.Type))
			continue
		}
		out = append(out, Target{Channel: c, Audience: ch.Audience})
	}
	return out, errors.Join(errs...)
}
