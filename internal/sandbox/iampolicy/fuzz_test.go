package iampolicy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks, for any input and policy kind, that Parse either
// returns a policy that obeys the grammar's rules or a *ParseError whose
// position is inside the document, that it rejects whatever
// encoding/json rejects, and that evaluating a parsed policy never panics.
// The seed corpus (testdata/fuzz/FuzzParse) holds AWS-managed policies as
// AWS ships them (untrimmed), AWS Organizations-style SCPs, keyrot's own
// policies, trust, key and resource policies, and malformed documents.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`), uint8(0))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"NotAction":"kms:*"}]}`), uint8(1))
	f.Fuzz(func(t *testing.T, doc []byte, k uint8) {
		kind := Kind(k%6) + KindIdentity
		p, err := Parse(kind, doc)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Offset < 0 || pe.Offset > int64(len(doc)) {
				t.Fatalf("offset %d outside the document of %d bytes", pe.Offset, len(doc))
			}
			line, col := lineCol(doc, pe.Offset)
			if pe.Line != line || pe.Column != col || line < 1 || col < 1 {
				t.Fatalf("position %d:%d, want %d:%d for offset %d", pe.Line, pe.Column, line, col, pe.Offset)
			}
			if pe.Problem.String() == "" || strings.HasPrefix(pe.Problem.String(), "problem ") {
				t.Fatalf("problem %d has no description", pe.Problem)
			}
			if !json.Valid(doc) && pe.Problem != ProblemSyntax {
				t.Fatalf("invalid JSON reported as %v", pe.Problem)
			}
			return
		}
		if !json.Valid(doc) {
			t.Fatalf("Parse accepted invalid JSON %q", doc)
		}
		if p.Kind != kind || len(p.Statements) == 0 {
			t.Fatalf("policy kind %v with %d statements", p.Kind, len(p.Statements))
		}
		for i, st := range p.Statements {
			if st.Index != i || (st.Effect != Allow && st.Effect != Deny) || len(st.Actions) == 0 {
				t.Fatalf("statement %d: %+v", i, st)
			}
			hasPrincipal := st.Principal != nil || st.NotPrincipal != nil
			if hasPrincipal != kind.allowsPrincipal() {
				t.Fatalf("statement %d of a %v policy: principal present = %v", i, kind, hasPrincipal)
			}
			if !kind.allowsPrincipal() && len(st.Resources) == 0 {
				t.Fatalf("statement %d of a %v policy has no resource", i, kind)
			}
		}
		np := NamedPolicy{Name: "fuzz", Policy: p}
		req := &Request{
			Caller:   Caller{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333", UniqueID: "AIDAALICEALICEALICE1", Tags: map[string]string{"team": "a"}},
			Action:   "iam:CreateAccessKey",
			Resource: "arn:aws:iam::111122223333:user/alice",
			Context:  map[string][]string{"aws:RequestedRegion": {"us-east-1"}, "aws:SourceIp": {"192.0.2.1"}, "aws:CurrentTime": {"2026-11-29T19:00:00Z"}},
		}
		ps := &PolicySet{}
		switch kind {
		case KindIdentity:
			ps.Identity = []NamedPolicy{np}
		case KindResource, KindTrust:
			ps.Resource = &np
		case KindSCP:
			ps.SCPs = []SCPLevel{{Target: "r-1", Policies: []NamedPolicy{np}}}
		case KindBoundary:
			ps.Boundary = &np
		case KindSession:
			ps.Session = []NamedPolicy{np}
		}
		d := Evaluate(req, ps)
		if d.Result != Allowed && d.Reason == "" && d.Kind != KindTrust {
			t.Fatalf("denial without a reason: %+v", d)
		}
	})
}

// TestSeedCorpus checks that every well-formed seed, among them the AWS-
// managed policies as AWS ships them, parses, and every "bad-" seed fails.
func TestSeedCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			doc, kind := readSeed(t, file)
			_, err := Parse(Kind(kind%6)+KindIdentity, doc)
			if bad := strings.HasPrefix(name, "bad-"); bad != (err != nil) {
				t.Errorf("Parse: %v (seed is malformed: %v)", err, bad)
			}
		})
	}
}

// readSeed reads a corpus file in the "go test fuzz v1" format.
func readSeed(t *testing.T, file string) ([]byte, uint8) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a two-value corpus file", file)
	}
	q, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok {
		t.Fatalf("%s: first value is not []byte", file)
	}
	doc, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(lines[2], "uint8("), ")"), 10, 8)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(doc), uint8(n)
}

// FuzzEvaluate evaluates fuzzed requests (action, resource, a context
// value, a policy variable in the resource pattern) against a fixed set of
// policies and checks invariants of the evaluation logic: an allow carries
// no reason and names its statement; adding an identity policy that denies
// everything turns any decision into an explicit deny.
func FuzzEvaluate(f *testing.F) {
	f.Add("iam:CreateAccessKey", "arn:aws:iam::111122223333:user/alice", "eu-west-1", "${aws:username}")
	f.Add("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:444455556666:secret:x", "us-east-1", "*")
	f.Add("sts:AssumeRole", "arn:aws:iam::111122223333:role/KeyrotAudit", "", "${aws:PrincipalTag/team, 'x'}")
	f.Add("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", "${*}", "k?")
	f.Fuzz(func(t *testing.T, action, resource, region, pattern string) {
		doc, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{"Sid": "A", "Effect": "Allow", "Action": []string{"iam:*", "secretsmanager:Get*", "kms:*", "sts:AssumeRole"}, "Resource": "arn:aws:*:*:*:*" + pattern},
				map[string]any{"Sid": "B", "Effect": "Allow", "NotAction": "iam:Delete*", "Resource": "*", "Condition": map[string]any{"StringLike": map[string]any{"aws:RequestedRegion": pattern}}},
				map[string]any{"Sid": "C", "Effect": "Deny", "Action": "*", "NotResource": "arn:aws:*", "Condition": map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": []string{pattern}}}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		id, err := Parse(KindIdentity, doc)
		if err != nil {
			return // patterns may make the Resource invalid
		}
		res := MustParse(KindResource, `{"Version":"2012-10-17","Statement":[{"Sid":"R","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*"}]}`)
		full, _ := Managed("FullAWSAccess")
		ps := &PolicySet{
			Identity: []NamedPolicy{{Name: "id", Policy: id}},
			Resource: &NamedPolicy{Name: "res", Policy: res},
			SCPs:     []SCPLevel{{Target: "r-1", Policies: []NamedPolicy{full.Named()}}},
		}
		req := &Request{
			Caller:   Caller{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333", UniqueID: "AIDAALICEALICEALICE1", Tags: map[string]string{"team": region}},
			Action:   action,
			Resource: resource,
			Context:  map[string][]string{"aws:RequestedRegion": {region}, "aws:TagKeys": {region, pattern}},
		}
		d := Evaluate(req, ps)
		if d.Allowed() && (d.Reason != "" || d.Message(req) != "") {
			t.Fatalf("allow with a reason: %+v", d)
		}
		if d.Allowed() && d.Kind == KindIdentity && d.Statement == "" {
			t.Fatalf("allow by identity without a statement: %+v", d)
		}
		if !d.Allowed() && !strings.Contains(d.Message(req), action) {
			t.Fatalf("message %q does not name the action", d.Message(req))
		}
		ps.Identity = append(ps.Identity, NamedPolicy{Name: "deny-all", Policy: MustParse(KindIdentity, `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)})
		if d2 := Evaluate(req, ps); d2.Result != ExplicitDeny {
			t.Fatalf("with a deny-all identity policy: %+v", d2)
		}
	})
}
