package secretscan

import "testing"

func TestContains(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"secret alone", secret, true},
		{"secret in a sentence", "the key is " + secret + ".", true},
		{"secret at the end of a path", "keyrot/alice/" + secret, true},
		{"session token", "FwoGZXIvYXdzE" + string(make([]byte, 0)) + repeat("Ab1", 40), true},
		{"access key ID", "AKIAIOSFODNN7EXAMPLE", false},
		{"ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyrot/123456789012/alice-AbCdEf", false},
		{"hex digest", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", false},
		{"lower-case 40", repeat("abcd", 10), false},
		{"prose", "Action needed by 2027-03-01: switch app keys for alice", false},
		{"41 characters is not a key", secret + "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Contains(tt.in); got != tt.want {
				t.Errorf("Contains(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// FuzzContains: the scan never panics, and a secret access key set off by
// any non-base64 separator is always found, whatever surrounds it.
func FuzzContains(f *testing.F) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	for _, seed := range []string{"", "AKIAIOSFODNN7EXAMPLE", "arn:aws:iam::123456789012:user/alice", "rotation due: key age 97d", `{"a":1}`} {
		f.Add(seed, " ")
	}
	f.Fuzz(func(t *testing.T, text, sep string) {
		Contains(text) // must not panic
		if sep == "" || isBase64(sep[0]) || isBase64(sep[len(sep)-1]) {
			return
		}
		if !Contains(text + sep + secret + sep + text) {
			t.Errorf("secret between %q separators not found", sep)
		}
	})
}
