// Package config loads keyrot.yaml at the composition root: the policy
// (internal/policy), the notify section (internal/notify, each channel
// checking its own fields) and the deliver section (internal/deliver), all
// decoded with the one strict decoder of
// internal/yamlconf. Every problem of every part is reported together,
// sorted by line, as "file:line: path: message".
//
// The policy stays a leaf that the pure core and the sandbox can import;
// this package, which links the notifiers and so the AWS SDK, is imported
// only by the commands that run keyrot (internal/cli).
package config

import (
	"fmt"
	"os"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/notify"
	"github.com/keyrot/keyrot/internal/policy"
	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Config is a loaded keyrot.yaml.
type Config struct {
	// Policy is everything but the notify and deliver sections, which it
	// keeps as written.
	Policy *policy.Policy
	// Notify is the notify section, decoded and checked.
	Notify *notify.Config
	// Deliver is the deliver section, decoded and checked.
	Deliver *deliver.Config
}

// Default returns the configuration used when there is no keyrot.yaml:
// policy.Default and notify.DefaultConfig (no channels).
func Default() *Config {
	return &Config{Policy: policy.Default(), Notify: notify.DefaultConfig(), Deliver: deliver.DefaultConfig()}
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
	d, dprobs := deliver.DecodeConfig(filename, &p.Deliver, "deliver")
	probs = append(append(probs, nprobs...), dprobs...)
	if len(probs) > 0 {
		probs.Sort()
		return nil, probs
	}
	return &Config{Policy: p, Notify: n, Deliver: d}, nil
}
