package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// Console passwords beyond the login profile calls of iam_users.go: the
// account password policy's check of a new password, and a stand-in for
// the console's sign-in, which no API offers.

// passwordPolicyViolation checks a new password against the account's
// password policy, as CreateLoginProfile and UpdateLoginProfile do: AWS
// answers PasswordPolicyViolation, "The request was rejected because the
// provided password did not meet the requirements imposed by the account
// password policy" (IAM API Reference, CreateLoginProfile, Errors). An
// account without a policy has IAM's default (IAM User Guide, "Set an
// account password policy for IAM users": at least 8 characters and three
// of the four character types), which AWS applies to passwords the
// console sets; the API accepts any password of 1 to 128 characters then,
// and so does the sandbox. Symbols are the non-alphanumeric characters the
// policy documents: ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '.
func passwordPolicyViolation(p *PasswordPolicy, pw string) error {
	if p == nil {
		return nil
	}
	var upper, lower, digit, symbol bool
	for _, c := range pw {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case unicode.IsDigit(c):
			digit = true
		case strings.ContainsRune("!@#$%^&*()_+-=[]{}|'", c):
			symbol = true
		}
	}
	ok := len([]rune(pw)) >= max(p.MinimumPasswordLength, 6) &&
		(!p.RequireUppercaseCharacters || upper) && (!p.RequireLowercaseCharacters || lower) &&
		(!p.RequireNumbers || digit) && (!p.RequireSymbols || symbol)
	if !ok {
		return errf(400, "PasswordPolicyViolation", "Password does not conform to the account password policy.")
	}
	return nil
}

// passwordHash is what the sandbox keeps of a console password: enough to
// check a sign-in, never the password.
func passwordHash(pw string) string {
	h := sha256.Sum256([]byte("sandbox-console-password:" + pw))
	return hex.EncodeToString(h[:])
}

// ConsoleSignIn stands in for a console sign-in of an IAM user: it checks
// the password against the user's login profile and records the use
// (password_last_used in the credential report, PasswordLastUsed of
// GetUser), as AWS does on a successful sign-in. account is an account ID.
func (s *Server) ConsoleSignIn(account, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[account]
	if a == nil {
		return fmt.Errorf("account %q: %w", account, ErrNotFound)
	}
	u := a.user(user)
	if u == nil {
		return fmt.Errorf("user %q in account %s: %w", user, account, ErrNotFound)
	}
	if u.Login == nil {
		return fmt.Errorf("user %s has no console password", user)
	}
	if u.Login.PasswordHash != "" && u.Login.PasswordHash != passwordHash(password) {
		return fmt.Errorf("user %s: wrong password", user)
	}
	now := s.clock.Now()
	u.PasswordLastUsed = &now
	return nil
}

// SetPasswordPolicy replaces an account's password policy (nil: none), as
// UpdateAccountPasswordPolicy and DeleteAccountPasswordPolicy would.
func (s *Server) SetPasswordPolicy(account string, p *PasswordPolicy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[account]
	if a == nil {
		return fmt.Errorf("account %q: %w", account, ErrNotFound)
	}
	a.PasswordPolicy = p
	return nil
}
