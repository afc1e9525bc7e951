package policy

import (
	"time"

	"github.com/keyrot/keyrot/internal/yamlconf"
)

// Duration is a length of time written as days ("90d"), weeks ("2w") or a Go
// duration ("2160h", "15m"): keyrot's one duration grammar, yamlconf.Duration.
type Duration = yamlconf.Duration

// ParseDuration parses "90d", "2w" or any time.ParseDuration string, as
// yamlconf.ParseDuration does.
func ParseDuration(s string) (time.Duration, error) { return yamlconf.ParseDuration(s) }
