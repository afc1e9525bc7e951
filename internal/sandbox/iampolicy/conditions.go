package iampolicy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The condition operators of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// and the set operators of
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html.

type opFamily int

const (
	famString opFamily = iota + 1
	famStringIgnoreCase
	famStringLike
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

type cmpKind int

const (
	cmpEq cmpKind = iota
	cmpLT
	cmpLE
	cmpGT
	cmpGE
)

type setOp int

const (
	setNone setOp = iota
	setForAnyValue
	setForAllValues
)

// conditionOp is a parsed condition operator.
type conditionOp struct {
	family   opFamily
	cmp      cmpKind
	negated  bool
	ifExists bool
	set      setOp
}

type opDef struct {
	family  opFamily
	cmp     cmpKind
	negated bool
}

var operators = map[string]opDef{
	"StringEquals":              {famString, cmpEq, false},
	"StringNotEquals":           {famString, cmpEq, true},
	"StringEqualsIgnoreCase":    {famStringIgnoreCase, cmpEq, false},
	"StringNotEqualsIgnoreCase": {famStringIgnoreCase, cmpEq, true},
	"StringLike":                {famStringLike, cmpEq, false},
	"StringNotLike":             {famStringLike, cmpEq, true},
	"NumericEquals":             {famNumeric, cmpEq, false},
	"NumericNotEquals":          {famNumeric, cmpEq, true},
	"NumericLessThan":           {famNumeric, cmpLT, false},
	"NumericLessThanEquals":     {famNumeric, cmpLE, false},
	"NumericGreaterThan":        {famNumeric, cmpGT, false},
	"NumericGreaterThanEquals":  {famNumeric, cmpGE, false},
	"DateEquals":                {famDate, cmpEq, false},
	"DateNotEquals":             {famDate, cmpEq, true},
	"DateLessThan":              {famDate, cmpLT, false},
	"DateLessThanEquals":        {famDate, cmpLE, false},
	"DateGreaterThan":           {famDate, cmpGT, false},
	"DateGreaterThanEquals":     {famDate, cmpGE, false},
	"Bool":                      {famBool, cmpEq, false},
	"BinaryEquals":              {famBinary, cmpEq, false},
	"IpAddress":                 {famIP, cmpEq, false},
	"NotIpAddress":              {famIP, cmpEq, true},
	"ArnEquals":                 {famARN, cmpEq, false},
	"ArnLike":                   {famARN, cmpEq, false},
	"ArnNotEquals":              {famARN, cmpEq, true},
	"ArnNotLike":                {famARN, cmpEq, true},
	"Null":                      {famNull, cmpEq, false},
}

// parseOperator parses an operator such as "ForAnyValue:StringLikeIfExists".
// Operator names are case-sensitive: IAM rejects "stringEquals" with
// "Invalid Condition type : stringEquals".
func parseOperator(s string) (conditionOp, bool) {
	var op conditionOp
	switch {
	case strings.HasPrefix(s, "ForAnyValue:"):
		op.set = setForAnyValue
		s = s[len("ForAnyValue:"):]
	case strings.HasPrefix(s, "ForAllValues:"):
		op.set = setForAllValues
		s = s[len("ForAllValues:"):]
	}
	if base, ok := strings.CutSuffix(s, "IfExists"); ok {
		op.ifExists = true
		s = base
	}
	d, ok := operators[s]
	if !ok {
		return op, false
	}
	if d.family == famNull && (op.set != setNone || op.ifExists) {
		return op, false
	}
	op.family, op.cmp, op.negated = d.family, d.cmp, d.negated
	return op, true
}

// holds evaluates the condition against the request. The rules, from the
// condition operator and multivalued context key pages:
//   - a key missing from the request makes the condition false, except for
//     negated operators (…Not…, NotIpAddress), …IfExists and ForAllValues,
//     for which it is true;
//   - several values in the policy are OR'd: the condition holds when the
//     request value matches any of them; a negated operator holds when it
//     matches none of them;
//   - ForAnyValue holds when at least one request value matches (for a
//     negated operator: fails to match every policy value); ForAllValues
//     when every request value does.
//
// A multivalued request key without a set operator is treated as
// ForAnyValue.
func (c *Condition) holds(e *evaluation, vars bool) bool {
	vals := e.context(c.Key)
	if c.op.family == famNull {
		for _, v := range c.Values {
			switch strings.ToLower(v) {
			case "true":
				if len(vals) == 0 {
					return true
				}
			case "false":
				if len(vals) > 0 {
					return true
				}
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case c.op.ifExists:
			return true
		case c.op.set == setForAllValues:
			return true
		case c.op.set == setForAnyValue:
			return false
		}
		return c.op.negated
	}
	pvals := c.Values
	if vars && (c.op.family == famString || c.op.family == famStringIgnoreCase || c.op.family == famStringLike || c.op.family == famARN) {
		pvals = make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			if s, ok := substitute(v, e); ok {
				pvals = append(pvals, s)
			}
		}
	}
	anyMatch := func(r string) bool {
		for _, p := range pvals {
			if c.op.match(p, r) {
				return true
			}
		}
		return false
	}
	switch c.op.set {
	case setForAllValues:
		for _, r := range vals {
			if anyMatch(r) == c.op.negated {
				return false
			}
		}
		return true
	case setForAnyValue:
		for _, r := range vals {
			if anyMatch(r) != c.op.negated {
				return true
			}
		}
		return false
	}
	for _, r := range vals {
		if anyMatch(r) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// match reports whether the request value r matches the policy value p
// under the operator's positive form.
func (op conditionOp) match(p, r string) bool {
	switch op.family {
	case famString:
		return unliteral(p) == r
	case famStringIgnoreCase:
		return strings.EqualFold(unliteral(p), r)
	case famStringLike:
		return glob(p, r)
	case famARN:
		return matchARN(p, r)
	case famBool:
		return strings.EqualFold(p, r)
	case famBinary:
		pb, err1 := base64.StdEncoding.DecodeString(p)
		rb, err2 := base64.StdEncoding.DecodeString(r)
		if err1 != nil || err2 != nil {
			return p == r
		}
		return string(pb) == string(rb)
	case famNumeric:
		pf, err1 := strconv.ParseFloat(p, 64)
		rf, err2 := strconv.ParseFloat(r, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compare(op.cmp, cmpFloat(rf, pf))
	case famDate:
		pt, ok1 := parseDate(p)
		rt, ok2 := parseDate(r)
		if !ok1 || !ok2 {
			return false
		}
		return compare(op.cmp, rt.Compare(pt))
	case famIP:
		prefix, ok := parsePrefix(p)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(r)
		if err != nil {
			return false
		}
		return prefix.Contains(addr.Unmap())
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies a comparison to the result of comparing the request
// value with the policy value.
func compare(k cmpKind, c int) bool {
	switch k {
	case cmpLT:
		return c < 0
	case cmpLE:
		return c <= 0
	case cmpGT:
		return c > 0
	case cmpGE:
		return c >= 0
	}
	return c == 0
}

// parseDate accepts the ISO 8601 forms AWS documents for Date conditions
// and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

// parsePrefix accepts a CIDR block or a single address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
