package app

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/deliver"
	"github.com/keyrot/keyrot/internal/deliver/backends"
	"github.com/keyrot/keyrot/internal/execute"
	"github.com/keyrot/keyrot/internal/inventory"
)

// destinations resolves a user's destinations with the deliver section
// (deliver.Config.Resolve, as it is now) and opens each with its backend.
type destinations struct {
	cfg *deliver.Config
	env backends.Env
}

var _ execute.Destinations = destinations{}

// For returns the user's destinations, opened; a destination that cannot
// be opened (no token) and a tag reference that does not parse carry
// their error.
func (d destinations) For(ctx context.Context, account string, u inventory.User) []execute.Target {
	ts, errs := d.cfg.Resolve(account, u)
	out := make([]execute.Target, 0, len(ts)+len(errs))
	for _, t := range ts {
		dest, err := backends.Open(ctx, t, d.env)
		out = append(out, execute.Target{Ref: t.Ref.String(), Dest: dest, Err: err})
	}
	for _, err := range errs {
		out = append(out, execute.Target{Ref: "tag " + d.cfg.UserTag, Err: err})
	}
	return out
}

// destinations returns the executor's destinations: nil when the deliver
// section declares none (no rule and no user tag). Tokens come from the
// environment (DeliverEnv, else the process's) or from Secrets Manager
// in keyrot's own account; ssm and lambda destinations are reached through
// the scope's access layer, as the rotation reaches their account.
func (r *App) destinations(scope Scope) execute.Destinations {
	c := r.Deliver
	if c == nil || (len(c.Rules) == 0 && c.UserTag == "") {
		return nil
	}
	env := backends.Env{Getenv: os.Getenv}
	if r.DeliverEnv != nil {
		env = *r.DeliverEnv
	} else if home, err := os.UserHomeDir(); err == nil {
		env.Home = home
	}
	if env.Secrets == nil {
		env.Secrets = backends.SecretsManager{API: secretsmanager.NewFromConfig(r.AWS)}
	}
	if env.AWS == nil {
		env.AWS = r.access(scope)
	}
	return destinations{cfg: c, env: env}
}

// deliveryLog returns the history's delivery log when the store keeps one.
func (r *App) deliveryLog() execute.DeliveryLog {
	if dl, ok := r.History.(execute.DeliveryLog); ok {
		return dl
	}
	return nil
}
