package audit

import (
	"path"
	"slices"
	"strings"

	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/policy"
)

// matches reports whether every field set in m holds for the account and
// user. user is nil for account-level and root findings: a match that names
// a user, path or group never covers those, and tag matches the account's tags.
func matches(m policy.Match, acct *inventory.Account, user *inventory.User) bool {
	if m.Empty() {
		return false
	}
	if m.Account != "" && m.Account != acct.ID {
		return false
	}
	if m.OU != "" && !slices.Contains(acct.OUPath, m.OU) {
		return false
	}
	if m.User != "" || m.PathPrefix != "" || m.Group != "" {
		if user == nil {
			return false
		}
		if m.User != "" {
			if ok, _ := path.Match(m.User, user.Name); !ok {
				return false
			}
		}
		if m.PathPrefix != "" && !strings.HasPrefix(userPath(user), m.PathPrefix) {
			return false
		}
		if m.Group != "" && !slices.Contains(user.Groups, m.Group) {
			return false
		}
	}
	if m.Tag != "" {
		tags := acct.Tags
		if user != nil {
			tags = user.Tags
		}
		k, v, hasValue := strings.Cut(m.Tag, "=")
		got, ok := tags[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

func userPath(u *inventory.User) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}
