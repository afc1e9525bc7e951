package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
)

// DynamoDB attribute values (the AttributeValue shape of botocore's
// dynamodb/2012-08-10/service-2.json): exactly one of S, N, B, SS, NS, BS,
// M, L, NULL, BOOL. Numbers are kept in canonical decimal text, binary
// values as raw bytes in a string.

// Attribute types.
const (
	ddbS    = "S"
	ddbN    = "N"
	ddbB    = "B"
	ddbSS   = "SS"
	ddbNS   = "NS"
	ddbBS   = "BS"
	ddbM    = "M"
	ddbL    = "L"
	ddbNULL = "NULL"
	ddbBOOL = "BOOL"
)

// ddbValue is one attribute value.
type ddbValue struct {
	T    string               // one of the type constants
	S    string               // S; N in canonical form; B as raw bytes
	Bool bool                 // BOOL
	Set  []string             // SS, NS (canonical), BS (raw bytes)
	M    map[string]*ddbValue // M
	L    []*ddbValue          // L
}

// ddbItem is an item: attribute name to value.
type ddbItem map[string]*ddbValue

// MarshalJSON writes the value in DynamoDB's wire form.
func (v *ddbValue) MarshalJSON() ([]byte, error) {
	var inner any
	switch v.T {
	case ddbS, ddbN:
		inner = v.S
	case ddbB:
		inner = base64.StdEncoding.EncodeToString([]byte(v.S))
	case ddbBOOL:
		inner = v.Bool
	case ddbNULL:
		inner = true
	case ddbSS, ddbNS:
		inner = v.Set
	case ddbBS:
		bs := make([]string, len(v.Set))
		for i, b := range v.Set {
			bs[i] = base64.StdEncoding.EncodeToString([]byte(b))
		}
		inner = bs
	case ddbM:
		m := v.M
		if m == nil {
			m = map[string]*ddbValue{}
		}
		inner = m
	case ddbL:
		l := v.L
		if l == nil {
			l = []*ddbValue{}
		}
		inner = l
	}
	return json.Marshal(map[string]any{v.T: inner})
}

// UnmarshalJSON reads and validates a value in DynamoDB's wire form. Its
// errors are ValidationException *apiErrors worded as DynamoDB words them.
func (v *ddbValue) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return ddbSerialization()
	}
	// Members sent as JSON null do not count as set (the SDKs never send them).
	for k, r := range raw {
		if string(r) == "null" {
			delete(raw, k)
		}
	}
	if len(raw) == 0 {
		return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(raw) > 1 {
		return ddbValidation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for t, r := range raw {
		v.T = t
		switch t {
		case ddbS:
			if err := json.Unmarshal(r, &v.S); err != nil {
				return ddbSerialization()
			}
		case ddbN:
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return ddbSerialization()
			}
			n, err := ddbNumber(s)
			if err != nil {
				return err
			}
			v.S = n
		case ddbB:
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return ddbSerialization()
			}
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return ddbSerialization()
			}
			v.S = string(raw)
		case ddbBOOL:
			if err := json.Unmarshal(r, &v.Bool); err != nil {
				return ddbSerialization()
			}
		case ddbNULL:
			var n bool
			if err := json.Unmarshal(r, &n); err != nil {
				return ddbSerialization()
			}
			if !n {
				return ddbValidation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case ddbSS, ddbNS, ddbBS:
			var ss []string
			if err := json.Unmarshal(r, &ss); err != nil {
				return ddbSerialization()
			}
			if len(ss) == 0 {
				names := map[string]string{ddbSS: "string", ddbNS: "number", ddbBS: "binary"}
				// Two spaces, as DynamoDB writes it.
				return ddbValidation("One or more parameter values were invalid: An %s set  may not be empty", names[t])
			}
			seen := map[string]bool{}
			for i, s := range ss {
				switch t {
				case ddbNS:
					n, err := ddbNumber(s)
					if err != nil {
						return err
					}
					ss[i] = n
				case ddbBS:
					raw, err := base64.StdEncoding.DecodeString(s)
					if err != nil {
						return ddbSerialization()
					}
					ss[i] = string(raw)
				}
				if seen[ss[i]] {
					return ddbValidation("One or more parameter values were invalid: Input collection %s contains duplicates.", ddbCollection(ss))
				}
				seen[ss[i]] = true
			}
			v.Set = ss
		case ddbM:
			if err := json.Unmarshal(r, &v.M); err != nil {
				return err
			}
			if v.M == nil {
				v.M = map[string]*ddbValue{}
			}
		case ddbL:
			if err := json.Unmarshal(r, &v.L); err != nil {
				return err
			}
			for _, e := range v.L {
				if e == nil {
					return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
				}
			}
		default:
			return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
	}
	return nil
}

func ddbCollection(ss []string) string { return "[" + strings.Join(ss, ", ") + "]" }

// ddbNumber validates a DynamoDB number and returns it in canonical form:
// up to 38 significant digits, magnitude between 1E-130 and 9.9…9E+125,
// written without exponent, leading zeros or trailing fraction zeros.
func ddbNumber(s string) (string, error) {
	d, ok := parseDecimal(s)
	if !ok {
		return "", ddbValidation("A value provided cannot be converted into a number")
	}
	digits := d.unscaled.String()
	digits = strings.TrimLeft(digits, "-")
	if d.unscaled.Sign() == 0 {
		return "0", nil
	}
	sig := strings.TrimRight(digits, "0")
	if len(sig) > 38 {
		return "", ddbValidation("Attempting to store more than 38 significant digits in a Number")
	}
	// The decimal exponent of the leading digit: value = 0.d1d2… × 10^(e+1).
	e := len(digits) - 1 - d.scale
	if e > 125 {
		return "", ddbValidation("Number overflow. Attempting to store a number with magnitude larger than supported range")
	}
	if e < -130 {
		return "", ddbValidation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	return d.String(), nil
}

// decimal is unscaled × 10^-scale.
type decimal struct {
	unscaled *big.Int
	scale    int
}

// parseDecimal parses [+-]digits[.digits][(e|E)[+-]digits].
func parseDecimal(s string) (decimal, bool) {
	if s == "" || len(s) > 1000 {
		return decimal{}, false
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 || s[i+1:] == "" {
			return decimal{}, false
		}
		exp = e
	}
	neg := false
	switch {
	case strings.HasPrefix(mant, "-"):
		neg, mant = true, mant[1:]
	case strings.HasPrefix(mant, "+"):
		mant = mant[1:]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || hasDot && strings.Contains(frac, ".") {
		return decimal{}, false
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return decimal{}, false
		}
	}
	u, ok := new(big.Int).SetString("0"+intPart+frac, 10)
	if !ok {
		return decimal{}, false
	}
	if neg {
		u.Neg(u)
	}
	return decimal{unscaled: u, scale: len(frac) - exp}.normalize(), true
}

// normalize removes trailing zeros of the unscaled value and makes the
// scale non-negative.
func (d decimal) normalize() decimal {
	u := new(big.Int).Set(d.unscaled)
	scale := d.scale
	if u.Sign() == 0 {
		return decimal{unscaled: u}
	}
	ten := big.NewInt(10)
	for scale < 0 {
		u.Mul(u, ten)
		scale++
	}
	r := new(big.Int)
	for scale > 0 {
		q, m := new(big.Int).QuoRem(u, ten, r)
		if m.Sign() != 0 {
			break
		}
		u = q
		scale--
	}
	return decimal{unscaled: u, scale: scale}
}

func (d decimal) rescale(scale int) *big.Int {
	u := new(big.Int).Set(d.unscaled)
	return u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil))
}

func (d decimal) add(e decimal) decimal {
	s := max(d.scale, e.scale)
	return decimal{unscaled: new(big.Int).Add(d.rescale(s), e.rescale(s)), scale: s}.normalize()
}

func (d decimal) neg() decimal {
	return decimal{unscaled: new(big.Int).Neg(d.unscaled), scale: d.scale}
}

func (d decimal) cmp(e decimal) int {
	s := max(d.scale, e.scale)
	return d.rescale(s).Cmp(e.rescale(s))
}

// String writes d in plain decimal notation.
func (d decimal) String() string {
	s := new(big.Int).Abs(d.unscaled).String()
	sign := ""
	if d.unscaled.Sign() < 0 {
		sign = "-"
	}
	if d.scale <= 0 {
		return sign + s
	}
	if len(s) <= d.scale {
		s = strings.Repeat("0", d.scale-len(s)+1) + s
	}
	return sign + s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
}

func mustDecimal(s string) decimal {
	d, ok := parseDecimal(s)
	if !ok {
		return decimal{unscaled: new(big.Int)}
	}
	return d
}

// ddbEqual reports whether two values are equal (sets regardless of order).
func ddbEqual(a, b *ddbValue) bool {
	if a == nil || b == nil || a.T != b.T {
		return false
	}
	switch a.T {
	case ddbS, ddbB:
		return a.S == b.S
	case ddbN:
		return mustDecimal(a.S).cmp(mustDecimal(b.S)) == 0
	case ddbBOOL:
		return a.Bool == b.Bool
	case ddbNULL:
		return true
	case ddbSS, ddbNS, ddbBS:
		if len(a.Set) != len(b.Set) {
			return false
		}
		in := map[string]bool{}
		for _, s := range a.Set {
			in[s] = true
		}
		for _, s := range b.Set {
			if !in[s] {
				return false
			}
		}
		return true
	case ddbM:
		if len(a.M) != len(b.M) {
			return false
		}
		for k, v := range a.M {
			if !ddbEqual(v, b.M[k]) {
				return false
			}
		}
		return true
	case ddbL:
		if len(a.L) != len(b.L) {
			return false
		}
		for i := range a.L {
			if !ddbEqual(a.L[i], b.L[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// ddbCompare orders two scalars of the same type (S and B by bytes, N
// numerically); ok is false when they cannot be ordered.
func ddbCompare(a, b *ddbValue) (c int, ok bool) {
	if a == nil || b == nil || a.T != b.T {
		return 0, false
	}
	switch a.T {
	case ddbS, ddbB:
		return strings.Compare(a.S, b.S), true
	case ddbN:
		return mustDecimal(a.S).cmp(mustDecimal(b.S)), true
	}
	return 0, false
}

// ddbSize is the value's size as DynamoDB counts it toward the 400 KB item
// limit: strings and binaries by their length, numbers by about one byte
// per two significant digits plus one, one byte for BOOL and NULL, three
// bytes of overhead for a map or list plus one per element.
func ddbSize(v *ddbValue) int {
	switch v.T {
	case ddbS, ddbB:
		return len(v.S)
	case ddbN:
		return numSize(v.S)
	case ddbBOOL, ddbNULL:
		return 1
	case ddbSS, ddbBS:
		n := 0
		for _, s := range v.Set {
			n += len(s)
		}
		return n
	case ddbNS:
		n := 0
		for _, s := range v.Set {
			n += numSize(s)
		}
		return n
	case ddbM:
		n := 3
		for k, e := range v.M {
			n += len(k) + ddbSize(e) + 1
		}
		return n
	case ddbL:
		n := 3
		for _, e := range v.L {
			n += ddbSize(e) + 1
		}
		return n
	}
	return 0
}

func numSize(s string) int {
	digits := strings.Trim(strings.NewReplacer("-", "", ".", "").Replace(s), "0")
	return (len(digits)+1)/2 + 1
}

// ddbItemSize is the item's size: attribute names plus values.
func ddbItemSize(it ddbItem) int {
	n := 0
	for k, v := range it {
		n += len(k) + ddbSize(v)
	}
	return n
}

// ddbMaxItemSize is DynamoDB's item size limit, 400 KB.
const ddbMaxItemSize = 400 * 1024

func (v *ddbValue) clone() *ddbValue {
	if v == nil {
		return nil
	}
	c := *v
	if v.Set != nil {
		c.Set = append([]string(nil), v.Set...)
	}
	if v.M != nil {
		c.M = make(map[string]*ddbValue, len(v.M))
		for k, e := range v.M {
			c.M[k] = e.clone()
		}
	}
	if v.L != nil {
		c.L = make([]*ddbValue, len(v.L))
		for i, e := range v.L {
			c.L[i] = e.clone()
		}
	}
	return &c
}

func (it ddbItem) clone() ddbItem {
	if it == nil {
		return nil
	}
	c := make(ddbItem, len(it))
	for k, v := range it {
		c[k] = v.clone()
	}
	return c
}

// ddbTypeName is how DynamoDB's messages name a type ("STRING", "NUMBER", …).
func ddbTypeName(t string) string {
	switch t {
	case ddbS:
		return "STRING"
	case ddbN:
		return "NUMBER"
	case ddbB:
		return "BINARY"
	case ddbSS:
		return "STRING_SET"
	case ddbNS:
		return "NUMBER_SET"
	case ddbBS:
		return "BINARY_SET"
	case ddbM:
		return "MAP"
	case ddbL:
		return "LIST"
	case ddbBOOL:
		return "BOOLEAN"
	case ddbNULL:
		return "NULL"
	}
	return t
}
