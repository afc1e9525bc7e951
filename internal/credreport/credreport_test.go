package credreport

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ts(s string) Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return Time{Time: t.UTC()}
}

var (
	na    = Time{State: StateNotApplicable}
	naTxt = Text{State: StateNotApplicable}
	f     = Bool{Value: false}
	tr    = Bool{Value: true}
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAWS(t *testing.T) {
	rep, err := Parse(bytes.NewReader(readFile(t, "aws.csv")))
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{
		Root: &Row{
			Line: 2, User: RootUser, ARN: "arn:aws:iam::111122223333:root",
			UserCreationTime:     ts("2019-03-04T05:06:07Z"),
			PasswordEnabled:      Bool{State: StateNotSupported},
			PasswordLastUsed:     ts("2026-10-01T08:00:00Z"),
			PasswordLastChanged:  Time{State: StateNotSupported},
			PasswordNextRotation: Time{State: StateNotSupported},
			MFAActive:            tr,
			AccessKeys:           [2]AccessKey{EmptyKey(), EmptyKey()},
			Certs:                [2]Cert{EmptyCert(), EmptyCert()},
		},
		Users: []Row{
			{
				Line: 3, User: "alice", ARN: "arn:aws:iam::111122223333:user/eng/alice",
				UserCreationTime:     ts("2020-01-02T03:04:05Z"),
				PasswordEnabled:      tr,
				PasswordLastUsed:     ts("2026-11-01T10:00:00Z"),
				PasswordLastChanged:  ts("2025-06-01T00:00:00Z"),
				PasswordNextRotation: ts("2026-12-01T00:00:00Z"),
				MFAActive:            tr,
				AccessKeys: [2]AccessKey{
					{Active: tr, LastRotated: ts("2025-01-15T12:30:45Z"), LastUsedDate: ts("2026-11-20T09:15:00Z"), LastUsedRegion: Text{Value: "us-east-1"}, LastUsedService: Text{Value: "s3"}},
					{Active: f, LastRotated: ts("2024-02-01T00:00:00Z"), LastUsedDate: na, LastUsedRegion: naTxt, LastUsedService: naTxt},
				},
				Certs: [2]Cert{EmptyCert(), EmptyCert()},
			},
			{
				Line: 4, User: "bob", ARN: "arn:aws:iam::111122223333:user/bob",
				UserCreationTime: ts("2021-05-06T07:08:09Z"),
				PasswordEnabled:  f, PasswordLastUsed: na, PasswordLastChanged: na, PasswordNextRotation: na,
				MFAActive: f,
				AccessKeys: [2]AccessKey{
					{Active: tr, LastRotated: ts("2026-11-01T00:00:00Z"), LastUsedDate: na, LastUsedRegion: naTxt, LastUsedService: naTxt},
					{Active: tr, LastRotated: ts("2026-11-02T00:00:00Z"), LastUsedDate: ts("2026-11-03T04:05:06Z"), LastUsedRegion: Text{Value: "eu-west-1"}, LastUsedService: Text{Value: "iam"}},
				},
				Certs: [2]Cert{EmptyCert(), EmptyCert()},
			},
			{
				Line: 5, User: "carol", ARN: "arn:aws:iam::111122223333:user/carol",
				UserCreationTime:     ts("2022-01-01T00:00:00Z"),
				PasswordEnabled:      tr,
				PasswordLastUsed:     Time{State: StateNoInformation},
				PasswordLastChanged:  ts("2022-01-01T00:00:00Z"),
				PasswordNextRotation: na,
				MFAActive:            f,
				AccessKeys:           [2]AccessKey{EmptyKey(), EmptyKey()},
				Certs:                [2]Cert{{Active: tr, LastRotated: ts("2023-01-01T00:00:00Z")}, EmptyCert()},
			},
		},
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestParseMotoHasNoRoot(t *testing.T) {
	rep, err := Parse(bytes.NewReader(readFile(t, "moto.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Root != nil {
		t.Errorf("Root = %+v, want nil", rep.Root)
	}
	var names []string
	for _, u := range rep.Users {
		names = append(names, u.User)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, names); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	a := rep.Users[0]
	if !a.AccessKeys[0].Present() || !a.AccessKeys[0].Active.True() || a.AccessKeys[1].Present() {
		t.Errorf("alice keys = %+v", a.AccessKeys)
	}
	if a.AccessKeys[0].LastUsedRegion.State != StateNotSupported {
		t.Errorf("moto region state = %v, want not_supported", a.AccessKeys[0].LastUsedRegion.State)
	}
}

func TestParseReorderedColumns(t *testing.T) {
	rep, err := Parse(bytes.NewReader(readFile(t, "reordered.csv")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{
		Line: 2, User: "dave", ARN: "arn:aws:iam::111122223333:user/dave",
		UserCreationTime: ts("2023-03-03T03:03:03Z"),
		PasswordEnabled:  f, PasswordLastUsed: na, PasswordLastChanged: na, PasswordNextRotation: na,
		MFAActive: tr,
		AccessKeys: [2]AccessKey{
			{Active: tr, LastRotated: ts("2023-03-04T00:00:00Z"), LastUsedDate: na, LastUsedRegion: naTxt, LastUsedService: naTxt},
			EmptyKey(),
		},
		Certs: [2]Cert{EmptyCert(), EmptyCert()},
	}}
	if diff := cmp.Diff(want, rep.Users); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// withCell returns aws.csv's header, root row and alice's row with one cell replaced.
func withCell(t *testing.T, col, value string) string {
	t.Helper()
	lines := strings.Split(string(readFile(t, "aws.csv")), "\n")
	header := strings.Split(lines[0], ",")
	cells := strings.Split(lines[2], ",") // alice
	for i, h := range header {
		if h == col {
			cells[i] = value
			return lines[0] + "\n" + lines[1] + "\n" + strings.Join(cells, ",") + "\n"
		}
	}
	t.Fatalf("no column %s", col)
	return ""
}

func TestParseErrors(t *testing.T) {
	header := string(readFile(t, "moto.csv"))
	header = header[:strings.Index(header, "\n")]
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "", "credential report is empty"},
		{"missing columns", "user,arn,mfa_active,cert_1_active\n", "credential report line 1: missing columns: user_creation_time, password_enabled"},
		{"duplicate column", header + ",user\n", `credential report line 1: duplicate column "user"`},
		{"bad time", withCell(t, "access_key_1_last_rotated", "yesterday"), `credential report line 3: access_key_1_last_rotated: invalid time "yesterday"`},
		{"time without zone", withCell(t, "user_creation_time", "2020-01-02T03:04:05"), `credential report line 3: user_creation_time: invalid time "2020-01-02T03:04:05"`},
		{"word where a creation time is required", withCell(t, "user_creation_time", "N/A"), `credential report line 3: user_creation_time: invalid time "N/A"`},
		{"bad bool", withCell(t, "mfa_active", "yes"), `credential report line 3: mfa_active: invalid boolean "yes"`},
		{"word in strict bool", withCell(t, "access_key_2_active", "N/A"), `credential report line 3: access_key_2_active: invalid boolean "N/A"`},
		{"empty region", withCell(t, "access_key_1_last_used_region", ""), `credential report line 3: access_key_1_last_used_region: empty value`},
		{"bad arn", withCell(t, "arn", "alice"), `credential report line 3: arn: invalid ARN "alice"`},
		{"empty user", withCell(t, "user", ""), `credential report line 3: user: empty user name`},
		{"wrong field count", header + "\nalice,arn:aws:iam::1:user/alice\n", "credential report: record on line 2: wrong number of fields"},
		{"duplicate user", withCell(t, "user", "<root_account>"), `credential report line 3: user: duplicate user "<root_account>" (first on line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParseErrorIsTyped(t *testing.T) {
	_, err := Parse(strings.NewReader(withCell(t, "password_last_used", "soon")))
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	if pe.Line != 3 || pe.Column != ColPasswordLastUsed {
		t.Errorf("ParseError = line %d column %q, want line 3 column %q", pe.Line, pe.Column, ColPasswordLastUsed)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, name := range []string{"aws.csv", "moto.csv", "reordered.csv"} {
		t.Run(name, func(t *testing.T) {
			rep, err := Parse(bytes.NewReader(readFile(t, name)))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, rep); err != nil {
				t.Fatal(err)
			}
			again, err := Parse(&buf)
			if err != nil {
				t.Fatalf("parse written report: %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(rep, again, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Line" }, cmp.Ignore())); diff != "" {
				t.Errorf("round trip (-orig +again):\n%s", diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"aws.csv", "moto.csv", "reordered.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(bytes.NewReader(data))
		if err != nil {
			if rep != nil {
				t.Fatalf("Parse returned a report with error %v", err)
			}
			return
		}
		// Whatever parses must survive Write and parse to the same report.
		var buf bytes.Buffer
		if err := Write(&buf, rep); err != nil {
			t.Fatalf("Write: %v", err)
		}
		again, err := Parse(&buf)
		if err != nil {
			t.Fatalf("parse written report: %v", err)
		}
		if diff := cmp.Diff(rep, again, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Line" }, cmp.Ignore())); diff != "" {
			t.Fatalf("round trip (-orig +again):\n%s", diff)
		}
	})
}
