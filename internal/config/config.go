// Package config loads keyrot.yaml at the composition root: the policy
// (internal/policy), the notify section (internal/notify, each channel
// checking its own fields), the serve section (internal/serveconf), the
// history section and the deliver section (internal/deliver), all decoded
// with the one strict decoder of internal/yamlconf. Every problem of every
// part is reported together,
// sorted by line, as "file:line: path: message".
//
// The policy stays a leaf that the pure core and the sandbox can import;
// this package, which links the notifiers and so the AWS SDK, is imported
// only by the commands that run keyrot (internal/cli).
package config

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/serveconf"
	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Config is a loaded keyrot.yaml.
type Config struct {
	// Policy is everything but the notify, serve, history and deliver
	// sections, which it keeps as written.
	Policy *policy.Policy
	// Notify is the notify section, decoded and checked.
	Notify *notify.Config
	// Serve is the serve section (keyrot serve), decoded and checked.
	Serve *serveconf.Config
	// History is the history section.
	History History
	// Deliver is the deliver section, decoded and checked.
	Deliver *deliver.Config
}

// DefaultRetention is how long audits are kept when keyrot.yaml does not
// say: 400 days, a year of monthly reports with their baselines.
const DefaultRetention = 400 * 24 * time.Hour

// History is the history section of keyrot.yaml.
type History struct {
	// Retention is how long audit snapshots and findings are kept; older
	// ones are pruned at the end of each run. The actions journal is
	// never pruned.
	Retention yamlconf.Duration `yaml:"retention"`
}

// decodeHistory decodes and checks the history section.
func decodeHistory(file string, n *yaml.Node) (History, yamlconf.Problems) {
	h := History{Retention: yamlconf.Duration(DefaultRetention)}
	d := yamlconf.NewDecoder(file)
	if n == nil || n.Kind == 0 {
		return h, nil
	}
	d.Decode(n, &h, "history")
	probs := d.Problems
	if !d.Failed("history.retention") && time.Duration(h.Retention) < 24*time.Hour {
		probs = append(probs, yamlconf.Problem{File: file, Line: d.Lines["history.retention"], Path: "history.retention",
			Message: fmt.Sprintf("must be at least 1d, or audits would be pruned as they are recorded (got %s)", h.Retention)})
	}
	return h, probs
}

// Default returns the configuration used when there is no keyrot.yaml:
// policy.Default, notify.DefaultConfig (no channels) and serveconf.Default.
func Default() *Config {
	return &Config{Policy: policy.Default(), Notify: notify.DefaultConfig(), Serve: serveconf.Default(), History: History{Retention: yamlconf.Duration(DefaultRetention)}, Deliver: deliver.DefaultConfig()}
}

// Load reads and parses the file at path; problems name the file as path.
// A missing file is an error that wraps fs.ErrNotExist; use Default for
// the built-in configuration.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes keyrot.yaml strictly: the policy on top of its defaults and
// validated, the notify and deliver sections on top of their defaults and
// checked.
// The error, if any, is a policy.Problems (yamlconf.Problems) listing every
// defect of every part with its line; filename names the file in them.
func Parse(data []byte, filename string) (*Config, error) {
	root, err := yamlconf.Parse(data, filename)
	if err != nil {
		return nil, err
	}
	p, probs := policy.Decode(filename, root)
	n, nprobs := notify.DecodeConfig(filename, &p.Notify, "notify")
	probs = append(probs, nprobs...)
	sv, sprobs := serveconf.Decode(filename, &p.Serve, "serve")
	probs = append(probs, sprobs...)
	h, hprobs := decodeHistory(filename, &p.History)
	probs = append(probs, hprobs...)
	d, dprobs := deliver.DecodeConfig(filename, &p.Deliver, "deliver")
	probs = append(probs, dprobs...)
	if len(probs) > 0 {
		probs.Sort()
		return nil, probs
	}
	return &Config{Policy: p, Notify: n, Serve: sv, History: h, Deliver: d}, nil
}
