package sandbox

import "testing"

func TestSecretsPolicyEvaluate(t *testing.T) {
	alice := &principal{Kind: "user", AccountID: "111111111111", UserName: "alice", ARN: "arn:aws:iam::111111111111:user/alice"}
	sess := &principal{Kind: "session", AccountID: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/Ops/s",
		Session: &session{AccountID: "111111111111", RoleName: "Ops"}}
	const res = "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf"
	tests := []struct {
		name   string
		policy string
		who    *principal
		admin  bool
		action string
		want   smDecision
	}{
		{"allow user string", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}}`, alice, false, "secretsmanager:GetSecretValue", smAllow},
		{"allow wildcard action", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:user/alice"]},"Action":["secretsmanager:*"],"Resource":"*"}]}`, alice, false, "secretsmanager:GetSecretValue", smAllow},
		{"other action", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"secretsmanager:DescribeSecret","Resource":"*"}}`, alice, false, "secretsmanager:GetSecretValue", smNoDecision},
		{"other user", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"*","Resource":"*"}}`, alice, false, "secretsmanager:GetSecretValue", smNoDecision},
		{"account root needs admin", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"*","Resource":"*"}}`, alice, false, "secretsmanager:GetSecretValue", smNoDecision},
		{"account root admin", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"*","Resource":"*"}}`, alice, true, "secretsmanager:GetSecretValue", smAllow},
		{"role ARN names session", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/Ops"},"Action":"*","Resource":"*"}}`, sess, true, "secretsmanager:GetSecretValue", smAllow},
		{"resource mismatch", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:secretsmanager:us-east-1:111111111111:secret:y-*"}}`, alice, false, "secretsmanager:GetSecretValue", smNoDecision},
		{"resource glob", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:secretsmanager:us-east-1:111111111111:secret:x-??????"}}`, alice, false, "secretsmanager:GetSecretValue", smAllow},
		{"deny wins", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"secretsmanager:Get*","Resource":"*"}]}`, alice, false, "secretsmanager:GetSecretValue", smDeny},
		{"conditional allow ignored", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}`, alice, false, "secretsmanager:GetSecretValue", smNoDecision},
		{"conditional deny applies", `{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`, alice, true, "secretsmanager:GetSecretValue", smDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := smParsePolicy(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.smEvaluate(tt.who, tt.admin, tt.action, res); got != tt.want {
				t.Fatalf("got %v want %v", got, tt.want)
			}
		})
	}
}

func TestSecretsPolicyMalformed(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{`, `{"Statement":[]}`, `{"Statement":{"Effect":"Maybe","Principal":"*","Action":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"*"}}`, `{"Statement":{"Effect":"Allow","Principal":"*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":"me","Action":"*"}}`, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"GetSecretValue"}}`,
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}} trailing`,
	} {
		if _, err := smParsePolicy(doc); err == nil {
			t.Errorf("%q: accepted", doc)
		}
	}
}

func FuzzSecretsPolicy(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/a"},"Action":"secretsmanager:*","Resource":"*"}}`)
	f.Add(`{"Statement":[{"Effect":"Deny","Principal":"*","Action":["*"],"Resource":["arn:*:*"]}]}`)
	c := &principal{Kind: "user", AccountID: "111111111111", ARN: "arn:aws:iam::111111111111:user/a"}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := smParsePolicy(doc)
		if err != nil {
			return
		}
		d := p.smEvaluate(c, false, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:111111111111:secret:a-AbCdEf")
		if d != smNoDecision && d != smAllow && d != smDeny {
			t.Fatalf("decision %v", d)
		}
		if len(p.Statement) == 0 {
			t.Fatal("accepted a policy without statements")
		}
	})
}

func TestSecretsGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"a?c", "abc", true},
		{"a?c", "ac", false}, {"*:GetSecret*", "secretsmanager:GetSecretValue", true}, {"", "x", false},
	}
	for _, tt := range tests {
		if got := smGlob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("smGlob(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}
