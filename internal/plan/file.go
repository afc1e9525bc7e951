package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyrot/keyrot/internal/inventory"
)

// FileVersion is the schema version of saved plans.
const FileVersion = 1

// File is a saved plan, as `keyrot plan -o json` writes it and
// `keyrot apply --plan-file` reads it.
type File struct {
	SchemaVersion int   `json:"schema_version"`
	Plan          *Plan `json:"plan"`
	// Digest is "sha256:" and the hex SHA-256 of the canonical encoding of
	// the schema version and the plan (Digest). Decode refuses a file whose
	// content does not match it: an edited date, action or gate.
	Digest string `json:"digest"`
}

// ErrBadFile marks a saved plan that cannot be used: not a plan file, the
// wrong version, edited, too old, or asking for more than apply would do now.
var ErrBadFile = errors.New("unusable plan file")

// fileError is an ErrBadFile with its own words, written to follow the
// file's name: "plan.json is not a keyrot plan file".
type fileError string

func (e fileError) Error() string      { return string(e) }
func (fileError) Is(target error) bool { return target == ErrBadFile }

func badFile(format string, args ...any) error { return fileError(fmt.Sprintf(format, args...)) }

// Digest returns the content digest of a saved plan of p: "sha256:" and the
// hex SHA-256 of the compact JSON encoding of the schema version and p. The
// encoding is canonical: encoding/json writes struct fields in declaration
// order and map keys sorted, and a decoded plan encodes to the same bytes,
// so reformatting the file (indentation, key order) keeps the digest and
// any change of content breaks it. It detects edits, not forgery: whoever
// can write the file can recompute it, which is why a saved plan can only
// narrow what apply would do anyway (Narrow).
func Digest(p *Plan) (string, error) {
	b, err := json.Marshal(struct {
		SchemaVersion int   `json:"schema_version"`
		Plan          *Plan `json:"plan"`
	}{FileVersion, p})
	if err != nil {
		return "", fmt.Errorf("digest plan: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Encode returns the saved-plan form of p with its digest, indented,
// ending in a newline.
func Encode(p *Plan) ([]byte, error) {
	d, err := Digest(p)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(File{SchemaVersion: FileVersion, Plan: p, Digest: d}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses a saved plan and checks its digest. Errors wrap ErrBadFile.
func Decode(b []byte) (*Plan, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, badFile("is not a keyrot plan file (keyrot plan -o json --out-file): %v", err)
	}
	if f.Plan == nil {
		return nil, badFile("is not a keyrot plan file (keyrot plan -o json --out-file): it holds no plan")
	}
	if f.SchemaVersion != FileVersion {
		return nil, badFile("has plan schema version %d, this keyrot reads %d", f.SchemaVersion, FileVersion)
	}
	if f.Digest == "" {
		return nil, badFile("has no digest (it was not written by this keyrot, or was edited): make a new plan")
	}
	want, err := Digest(f.Plan)
	if err != nil {
		return nil, badFile("cannot be checked: %v", err)
	}
	if f.Digest != want {
		return nil, badFile("was changed after keyrot wrote it (its digest does not match its content): make a new plan")
	}
	return f.Plan, nil
}

// NotInSavedPlan is the Deferred reason of a due action a saved plan left out.
const NotInSavedPlan = "not in the saved plan"

// clockSkew is how far in the future a saved plan's date may be: another
// host's clock may run a little ahead.
const clockSkew = 5 * time.Minute

// Refusal is one action of a saved plan that apply refuses, and why.
type Refusal struct {
	Action Action
	Why    string
}

// RefusedError lists every action of a saved plan that is not in the plan
// computed now, with the reason. It is ErrBadFile: nothing of the file runs.
type RefusedError struct {
	Refused []Refusal
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "asks for %d action(s) that apply would not do now; nothing was run, make a new plan:", len(e.Refused))
	for _, r := range e.Refused {
		fmt.Fprintf(&b, "\n  - %s %s/%s key %s: %s", r.Action.Kind, r.Action.AccountID, r.Action.User, maskKey(r.Action.KeyID), r.Why)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBadFile) true.
func (*RefusedError) Is(target error) bool { return target == ErrBadFile }

// maskKey masks a key ID for human output.
func maskKey(id string) string {
	if id == "" {
		return "(none)"
	}
	return inventory.MaskKeyID(id)
}

// Unavailable says why an account is not in the plan computed now.
type Unavailable struct {
	// Why, in words: "account 444455556666 is not readable now: ...".
	Why string
	// Unreadable is set for an account in scope that could not be read,
	// as opposed to one outside the scope or excluded.
	Unreadable bool
}

// Narrow checks a saved plan against current, the plan keyrot computed now
// for the same scope with the policy in force, and returns the plan to
// carry out. A saved plan can only narrow what apply would do now: each of
// its actions must be in current (among its actions, or its actions held
// back by the guardrails) with the same ID, kind, account, account name,
// user, user ARN, key, due date, gate and expected key state. The returned plan holds current's own
// actions, never the file's, so that everything the executor reads (gates,
// expected keys, evidence, names) comes from the plan computed now; the
// due actions the file leaves out are in its Deferred, and its Blocked,
// Upcoming and Accounts are current's.
//
// unavailable gives, for an account that is not in current, why (outside
// the scope, excluded, unreadable); an action or a covered account not in
// current is refused with it. The file is also refused when it is older
// than maxAge (when positive) or dated in the future. Errors wrap
// ErrBadFile; a *RefusedError lists every refused action.
func Narrow(saved, current *Plan, now time.Time, maxAge time.Duration, unavailable map[string]Unavailable) (*Plan, error) {
	age := now.Sub(saved.GeneratedAt)
	if maxAge > 0 && age > maxAge {
		return nil, badFile("was made %s ago, more than the allowed %s: make a new plan", age.Round(time.Minute), maxAge)
	}
	if age < -clockSkew {
		return nil, badFile("is dated %s, in the future: make a new plan", saved.GeneratedAt.UTC().Format(time.RFC3339))
	}
	inScope := map[string]bool{}
	for _, a := range current.Accounts {
		inScope[a] = true
	}
	why := func(acct string) string {
		if u, ok := unavailable[acct]; ok {
			return u.Why
		}
		return "account " + acct + " is outside this run's scope (--accounts, --ou, --exclude-accounts, or the policy's exclusions)"
	}
	for _, a := range saved.Accounts {
		if u := unavailable[a]; !inScope[a] && u.Unreadable {
			// The organization changed under the plan: even the accounts
			// it has no action for were judged on facts not readable now.
			return nil, badFile("no longer matches the organization: %s; make a new plan", u.Why)
		}
	}

	type ref struct {
		kind                           Kind
		account, user, keyID, resource string
	}
	refOf := func(a Action) ref { return ref{a.Kind, a.AccountID, a.User, a.KeyID, a.Resource + a.Service} }
	due := map[ref]Action{}
	for _, a := range current.Actions {
		due[refOf(a)] = a
	}
	for _, a := range current.Deferred {
		a.Deferred = ""
		due[refOf(a)] = a
	}
	var refused []Refusal
	chosen := map[ref]bool{}
	for _, s := range saved.Actions {
		r := refOf(s)
		if w := mismatch(s, r.account, inScope, why, due[r], chosen[r], current); w != "" {
			refused = append(refused, Refusal{Action: s, Why: w})
			continue
		}
		chosen[r] = true
	}
	if len(refused) > 0 {
		return nil, &RefusedError{Refused: refused}
	}

	out := &Plan{GeneratedAt: current.GeneratedAt, Lifecycle: current.Lifecycle, Blocked: current.Blocked,
		Upcoming: current.Upcoming, Accounts: current.Accounts}
	for _, list := range [][]Action{current.Actions, current.Deferred} {
		for _, a := range list {
			if chosen[refOf(a)] {
				a.Deferred = ""
				out.Actions = append(out.Actions, a)
				continue
			}
			if a.Deferred == "" {
				a.Deferred = NotInSavedPlan
			}
			out.Deferred = append(out.Deferred, a)
		}
	}
	return out, nil
}

// mismatch says why saved action s is not the due action now of the same
// kind, account, user and key (zero if there is none), or "" if it is.
func mismatch(s Action, acct string, inScope map[string]bool, why func(string) string, now Action, dup bool, current *Plan) string {
	switch {
	case s.Kind != CreateKey && s.Kind != DeactivateKey && s.Kind != DeleteKey && s.Kind != DeleteOrphan && s.Kind != RotateSecret && s.Kind != DisableConsole && !ServiceKind(s.Kind):
		return fmt.Sprintf("%q is not an action keyrot carries out", s.Kind)
	case !inScope[acct]:
		return why(acct)
	case dup:
		return "listed twice"
	}
	if now.ID == "" {
		for _, b := range current.Blocked {
			if b.AccountID == s.AccountID && b.User == s.User && b.Resource == s.Resource && (b.KeyID == s.KeyID || b.KeyID == "") {
				return "keyrot blocks it now: " + b.Reason
			}
		}
		for _, a := range append(append([]Action(nil), current.Actions...), current.Deferred...) {
			if a.AccountID == s.AccountID && a.User == s.User && a.KeyID == s.KeyID {
				return fmt.Sprintf("the plan computed now would %s this key, not %s", a.Kind, s.Kind)
			}
		}
		return "not in the plan computed now with the policy in force (not due, exempt, or the user's keys changed)"
	}
	var diffs []string
	if s.ID != now.ID {
		diffs = append(diffs, fmt.Sprintf("its ID is %q, not %q", s.ID, now.ID))
	}
	if s.UserARN != now.UserARN {
		diffs = append(diffs, fmt.Sprintf("its user ARN is %q, not %q", s.UserARN, now.UserARN))
	}
	if s.AccountName != now.AccountName {
		diffs = append(diffs, fmt.Sprintf("its account name is %q, not %q", s.AccountName, now.AccountName))
	}
	if !s.Due.Equal(now.Due) {
		diffs = append(diffs, fmt.Sprintf("it is due %s, not %s", fmtTime(s.Due), fmtTime(now.Due)))
	}
	if !sameGate(s, now) {
		diffs = append(diffs, fmt.Sprintf("its gate is %s, not %s", gateText(s.Gate), gateText(now.Gate)))
	}
	if !sameKeys(s.Expect, now.Expect) {
		diffs = append(diffs, fmt.Sprintf("it expects the keys %s, the user has %s", keysText(s.Expect), keysText(now.Expect)))
	}
	if len(diffs) > 0 {
		return "differs from the plan computed now: " + strings.Join(diffs, "; ")
	}
	return ""
}

// sameGate reports whether the saved action's gate is the one computed
// now. An orphan's usage gate is "never used up to the plan", dated when
// the plan was made: any such date will do, none will not.
func sameGate(s, now Action) bool {
	if s.Gate.RequireStatus != now.Gate.RequireStatus {
		return false
	}
	if s.Kind == DeleteOrphan {
		return s.Gate.UnusedSince.IsZero() == now.Gate.UnusedSince.IsZero()
	}
	return s.Gate.UnusedSince.Equal(now.Gate.UnusedSince)
}

func gateText(g Gate) string {
	var parts []string
	if g.RequireStatus != "" {
		parts = append(parts, "status "+string(g.RequireStatus))
	}
	if !g.UnusedSince.IsZero() {
		parts = append(parts, "unused since "+g.UnusedSince.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// sameKeys compares two expected key states as sets.
func sameKeys(a, b []KeyState) bool {
	return slices.Equal(sortedKeys(a), sortedKeys(b))
}

func sortedKeys(ks []KeyState) []string {
	s := make([]string, 0, len(ks))
	for _, k := range ks {
		s = append(s, k.ID+"="+string(k.Status))
	}
	slices.Sort(s)
	return s
}

func keysText(ks []KeyState) string {
	if len(ks) == 0 {
		return "none"
	}
	var s []string
	for _, k := range ks {
		s = append(s, maskKey(k.ID)+" "+string(k.Status))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
