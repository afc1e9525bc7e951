package history

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/keyrot/keyrot/internal/secretscan"
)

// tokenCheck is checkReport by encoding/json's tokens, the oracle of
// FuzzCheckReport: every string, with the member name it is screened
// under (an array's values under its own member's name).
func tokenCheck(doc string) (secret bool) {
	type frame struct {
		obj, wantKey bool
		key          string
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return secret
		}
		key := ""
		if n := len(stack); n > 0 {
			key = stack[n-1].key
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
				continue
			case '[':
				stack = append(stack, frame{key: key})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = tok, false
				continue
			}
			if !namesKeys[key] && secretscan.Contains(tok) {
				return true
			}
		}
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
}

// FuzzCheckReport: checkReport refuses what encoding/json takes for no
// JSON (as invalid, or for a secret met before the fault), never calls a
// valid document invalid, and refuses a valid one for a secret exactly
// when a walk of encoding/json's tokens finds one.
func FuzzCheckReport(f *testing.F) {
	for _, doc := range []string{
		`{"users":[{"name":"` + fakeSecret + `","groups":["` + fakeSecret + `"]}]}`,
		`{"detail":"` + fakeSecret + `"}`,
		`["` + fakeSessionToken + `"]`,
		`{"a":-1.5e+3,"b":[true,false,null,{}],"c":"\u0041\ud83d\ude00\/\"\\"}`,
		`{"detail":"wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY"}`,
		`{"detail":"\u0077JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`,
		`{"a":1}{"b":2}`, `{"a":01}`, `[1,]`, `"\ud800"`, ` 0 `, `truex`, ``,
	} {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := checkReport(strings.NewReader(doc))
		valid := json.Valid([]byte(doc))
		if !valid {
			if err == nil {
				t.Fatalf("checkReport(%q) accepted what json.Valid refuses", doc)
			}
			return
		}
		if errors.Is(err, ErrInvalid) {
			t.Fatalf("checkReport(%q) = %v for valid JSON", doc, err)
		}
		if got, want := errors.Is(err, ErrSecretMaterial), tokenCheck(doc); got != want {
			t.Fatalf("checkReport(%q) = %v; the token walk finds a secret: %v", doc, err, want)
		}
	})
}

// TestCheckReportReadError: a report that cannot be read is refused.
func TestCheckReportReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"a":`), errReader{})
	if err := checkReport(r); !errors.Is(err, ErrInvalid) {
		t.Errorf("checkReport of a failing reader = %v, want ErrInvalid", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }
