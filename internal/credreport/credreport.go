// Package credreport parses the IAM credential report: the CSV document that
// GetCredentialReport returns, with one row per IAM user plus, on AWS, a row
// for the account's root user named "<root_account>".
//
// Columns are found by header name, so their order does not matter and
// columns this package does not know are ignored. Every value is checked: a
// malformed one is an error naming its line and column, never a guess.
//
// The report marks missing values with words rather than leaving cells
// empty; their meaning follows AWS's "Getting credential reports for your AWS
// account" (IAM User Guide):
//
//   - N/A (not applicable): the credential does not exist (no password, no
//     access key in that slot, no certificate), or it exists but was never
//     used. For access_key_N_last_used_date AWS also writes N/A for a key not
//     used since IAM began tracking key use on 2015-04-22, which for any
//     rotation policy is the same as never used. [StateNotApplicable].
//   - no_information: documented for password_last_used, when the password
//     was never used or not used since IAM began tracking sign-ins on
//     2014-10-20. [StateNoInformation].
//   - not_supported: the root user's password_enabled, password_last_changed
//     and password_next_rotation, which IAM does not report. [StateNotSupported].
//
// Any of the three words is accepted in any timestamp or text cell and in
// password_enabled, because emulators use them more freely than AWS (moto
// writes not_supported for last-used regions and services); the collector
// decides what each means for the fact it builds. The other booleans must be
// true or false, in any letter case (AWS writes lower case; its documentation
// writes TRUE/FALSE). Timestamps are ISO 8601 with seconds and an offset or
// Z, e.g. 2026-01-02T03:04:05+00:00; they are returned in UTC.
package credreport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// RootUser is the user name of the root user's row.
const RootUser = "<root_account>"

// Column names, in the order AWS writes them.
const (
	ColUser                 = "user"
	ColARN                  = "arn"
	ColUserCreationTime     = "user_creation_time"
	ColPasswordEnabled      = "password_enabled"
	ColPasswordLastUsed     = "password_last_used"
	ColPasswordLastChanged  = "password_last_changed"
	ColPasswordNextRotation = "password_next_rotation"
	ColMFAActive            = "mfa_active"
	ColCert1Active          = "cert_1_active"
	ColCert1LastRotated     = "cert_1_last_rotated"
	ColCert2Active          = "cert_2_active"
	ColCert2LastRotated     = "cert_2_last_rotated"
)

// Columns lists every column a report must have, in AWS's order.
var Columns = []string{
	ColUser, ColARN, ColUserCreationTime,
	ColPasswordEnabled, ColPasswordLastUsed, ColPasswordLastChanged, ColPasswordNextRotation,
	ColMFAActive,
	keyCol(1, "active"), keyCol(1, "last_rotated"), keyCol(1, "last_used_date"), keyCol(1, "last_used_region"), keyCol(1, "last_used_service"),
	keyCol(2, "active"), keyCol(2, "last_rotated"), keyCol(2, "last_used_date"), keyCol(2, "last_used_region"), keyCol(2, "last_used_service"),
	ColCert1Active, ColCert1LastRotated, ColCert2Active, ColCert2LastRotated,
}

func keyCol(slot int, field string) string { return fmt.Sprintf("access_key_%d_%s", slot, field) }

// The report's words for missing values.
const (
	wordNA           = "N/A"
	wordNoInfo       = "no_information"
	wordNotSupported = "not_supported"
)

// State says whether a cell holds a value or which word stands in its place.
type State uint8

// Cell states.
const (
	StateValue         State = iota // the cell holds a value
	StateNotApplicable              // N/A
	StateNoInformation              // no_information
	StateNotSupported               // not_supported
)

// String returns the report's word for the state, or "value".
func (s State) String() string {
	switch s {
	case StateNotApplicable:
		return wordNA
	case StateNoInformation:
		return wordNoInfo
	case StateNotSupported:
		return wordNotSupported
	default:
		return "value"
	}
}

// Time is a timestamp cell. Time is set only when State is StateValue.
type Time struct {
	Time  time.Time
	State State
}

// Ptr returns a pointer to the time, or nil when the cell holds a word.
func (t Time) Ptr() *time.Time {
	if t.State != StateValue {
		return nil
	}
	v := t.Time
	return &v
}

// Bool is a true/false cell. Value is meaningful only when State is StateValue.
type Bool struct {
	Value bool
	State State
}

// True reports whether the cell holds true.
func (b Bool) True() bool { return b.State == StateValue && b.Value }

// Text is a free-text cell such as a region or service name. Value is empty
// unless State is StateValue.
type Text struct {
	Value string
	State State
}

// AccessKey is one of a row's two access-key slots.
type AccessKey struct {
	Active Bool
	// LastRotated is when the key was created (or last changed); N/A when the slot is empty.
	LastRotated     Time
	LastUsedDate    Time
	LastUsedRegion  Text
	LastUsedService Text
}

// Present reports whether the slot holds a key.
func (k AccessKey) Present() bool { return k.LastRotated.State == StateValue }

// Cert is one of a row's two signing-certificate slots.
type Cert struct {
	Active      Bool
	LastRotated Time
}

// Row is one user's line of the report.
type Row struct {
	// Line is the row's line number in the CSV (the header is line 1).
	Line                 int
	User                 string
	ARN                  string
	UserCreationTime     Time
	PasswordEnabled      Bool
	PasswordLastUsed     Time
	PasswordLastChanged  Time
	PasswordNextRotation Time
	MFAActive            Bool
	AccessKeys           [2]AccessKey
	Certs                [2]Cert
}

// IsRoot reports whether the row is the root user's.
func (r Row) IsRoot() bool { return r.User == RootUser }

// Report is a parsed credential report.
type Report struct {
	// Root is the root user's row; nil when the report has none (moto's reports,
	// for instance, list only IAM users).
	Root *Row
	// Users are the IAM users' rows in report order.
	Users []Row
}

// ParseError is a problem with one cell or line of the report.
type ParseError struct {
	Line   int
	Column string // empty for problems with the whole line
	Err    error
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("credential report line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("credential report line %d: %s: %v", e.Line, e.Column, e.Err)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// ErrEmpty is returned for a report with no header line.
var ErrEmpty = errors.New("credential report is empty")

// Parse reads a credential report.
func Parse(r io.Reader) (*Report, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, fmt.Errorf("credential report: %w", err)
	}
	idx, err := indexHeader(header)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("credential report: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row, err := parseRow(rec, idx, line)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[row.User]; dup {
			return nil, &ParseError{Line: line, Column: ColUser, Err: fmt.Errorf("duplicate user %q (first on line %d)", row.User, prev)}
		}
		seen[row.User] = line
		if row.IsRoot() {
			rep.Root = &row
			continue
		}
		rep.Users = append(rep.Users, row)
	}
	return rep, nil
}

// indexHeader maps each known column to its position.
func indexHeader(header []string) (map[string]int, error) {
	if len(header) > 0 {
		header[0] = string(bytes.TrimPrefix([]byte(header[0]), []byte("\uFEFF")))
	}
	idx := map[string]int{}
	for i, name := range header {
		name = strings.TrimSpace(name)
		if _, dup := idx[name]; dup && name != "" {
			return nil, &ParseError{Line: 1, Err: fmt.Errorf("duplicate column %q", name)}
		}
		idx[name] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, &ParseError{Line: 1, Err: fmt.Errorf("missing columns: %s", strings.Join(missing, ", "))}
	}
	return idx, nil
}

// rowParser reads cells of one record, remembering the first error.
type rowParser struct {
	rec  []string
	idx  map[string]int
	line int
	err  error
}

func (p *rowParser) cell(col string) string { return p.rec[p.idx[col]] }

func (p *rowParser) fail(col string, err error) {
	if p.err == nil {
		p.err = &ParseError{Line: p.line, Column: col, Err: err}
	}
}

// word recognises the report's placeholder words.
func word(v string) (State, bool) {
	switch v {
	case wordNA:
		return StateNotApplicable, true
	case wordNoInfo:
		return StateNoInformation, true
	case wordNotSupported:
		return StateNotSupported, true
	}
	return StateValue, false
}

// time reads a timestamp cell; any placeholder word is accepted.
func (p *rowParser) time(col string) Time {
	v := p.cell(col)
	if s, ok := word(v); ok {
		return Time{State: s}
	}
	return p.timeValue(col, v)
}

// timeValue parses a timestamp that must be present.
func (p *rowParser) timeValue(col, v string) Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(col, fmt.Errorf("invalid time %q", v))
		return Time{}
	}
	return Time{Time: t.UTC()}
}

// bool reads a true/false cell; placeholder words only when words is set.
func (p *rowParser) bool(col string, words bool) Bool {
	v := p.cell(col)
	if s, ok := word(v); ok {
		if !words {
			p.fail(col, fmt.Errorf("invalid boolean %q", v))
		}
		return Bool{State: s}
	}
	switch strings.ToLower(v) {
	case "true":
		return Bool{Value: true}
	case "false":
		return Bool{Value: false}
	}
	p.fail(col, fmt.Errorf("invalid boolean %q", v))
	return Bool{}
}

// text reads a free-text cell; any placeholder word is accepted.
func (p *rowParser) text(col string) Text {
	v := p.cell(col)
	if s, ok := word(v); ok {
		return Text{State: s}
	}
	if v == "" {
		p.fail(col, errors.New("empty value"))
	}
	return Text{Value: v}
}

func parseRow(rec []string, idx map[string]int, line int) (Row, error) {
	p := &rowParser{rec: rec, idx: idx, line: line}
	row := Row{Line: line, User: p.cell(ColUser), ARN: p.cell(ColARN)}
	if row.User == "" {
		p.fail(ColUser, errors.New("empty user name"))
	}
	if !strings.HasPrefix(row.ARN, "arn:") {
		p.fail(ColARN, fmt.Errorf("invalid ARN %q", row.ARN))
	}
	row.UserCreationTime = p.timeValue(ColUserCreationTime, p.cell(ColUserCreationTime))
	row.PasswordEnabled = p.bool(ColPasswordEnabled, true)
	row.PasswordLastUsed = p.time(ColPasswordLastUsed)
	row.PasswordLastChanged = p.time(ColPasswordLastChanged)
	row.PasswordNextRotation = p.time(ColPasswordNextRotation)
	row.MFAActive = p.bool(ColMFAActive, false)
	for i := range row.AccessKeys {
		n := i + 1
		row.AccessKeys[i] = AccessKey{
			Active:          p.bool(keyCol(n, "active"), false),
			LastRotated:     p.time(keyCol(n, "last_rotated")),
			LastUsedDate:    p.time(keyCol(n, "last_used_date")),
			LastUsedRegion:  p.text(keyCol(n, "last_used_region")),
			LastUsedService: p.text(keyCol(n, "last_used_service")),
		}
	}
	for i := range row.Certs {
		n := i + 1
		row.Certs[i] = Cert{
			Active:      p.bool(fmt.Sprintf("cert_%d_active", n), false),
			LastRotated: p.time(fmt.Sprintf("cert_%d_last_rotated", n)),
		}
	}
	if p.err != nil {
		return Row{}, p.err
	}
	return row, nil
}
