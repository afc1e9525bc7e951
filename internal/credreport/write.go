package credreport

import (
	"encoding/csv"
	"fmt"
	"io"
	"time"
)

// Write encodes rep as a credential report in AWS's column order, root row
// first. Parse(Write(rep)) returns rep again, apart from Line numbers.
func Write(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return fmt.Errorf("write credential report: %w", err)
	}
	rows := rep.Users
	if rep.Root != nil {
		rows = append([]Row{*rep.Root}, rows...)
	}
	for _, r := range rows {
		rec := []string{
			r.User, r.ARN, fmtTime(r.UserCreationTime),
			fmtBool(r.PasswordEnabled), fmtTime(r.PasswordLastUsed), fmtTime(r.PasswordLastChanged), fmtTime(r.PasswordNextRotation),
			fmtBool(r.MFAActive),
		}
		for _, k := range r.AccessKeys {
			rec = append(rec, fmtBool(k.Active), fmtTime(k.LastRotated), fmtTime(k.LastUsedDate), fmtText(k.LastUsedRegion), fmtText(k.LastUsedService))
		}
		for _, c := range r.Certs {
			rec = append(rec, fmtBool(c.Active), fmtTime(c.LastRotated))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write credential report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write credential report: %w", err)
	}
	return nil
}

func fmtTime(t Time) string {
	if t.State != StateValue {
		return t.State.String()
	}
	return t.Time.UTC().Format("2006-01-02T15:04:05+00:00")
}

func fmtBool(b Bool) string {
	if b.State != StateValue {
		return b.State.String()
	}
	if b.Value {
		return "true"
	}
	return "false"
}

func fmtText(t Text) string {
	if t.State != StateValue {
		return t.State.String()
	}
	return t.Value
}

// EmptyKey returns an empty access-key slot as AWS writes it (inactive, every field N/A).
func EmptyKey() AccessKey {
	na := Time{State: StateNotApplicable}
	nt := Text{State: StateNotApplicable}
	return AccessKey{Active: Bool{Value: false}, LastRotated: na, LastUsedDate: na, LastUsedRegion: nt, LastUsedService: nt}
}

// EmptyCert returns an empty certificate slot as AWS writes it.
func EmptyCert() Cert {
	return Cert{Active: Bool{Value: false}, LastRotated: Time{State: StateNotApplicable}}
}

// At returns a Time cell holding t, truncated to the second as in the report.
func At(t time.Time) Time { return Time{Time: t.UTC().Truncate(time.Second)} }
