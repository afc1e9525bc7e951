package sandbox

import (
	"errors"
	"strings"
	"testing"
)

// ddbFuzzItem is the item fuzzed expressions are evaluated on.
func ddbFuzzItem() ddbItem {
	str := func(s string) *ddbValue { return &ddbValue{T: ddbS, S: s} }
	num := func(s string) *ddbValue { return &ddbValue{T: ddbN, S: s} }
	return ddbItem{
		"pk": str("lease#1"), "sk": str("lease"), "owner": str("a"), "exp": num("100"),
		"m":  {T: ddbM, M: map[string]*ddbValue{"x": num("1"), "l": {T: ddbL, L: []*ddbValue{str("q"), num("2")}}}},
		"ss": {T: ddbSS, Set: []string{"a", "b"}}, "b": {T: ddbBOOL, Bool: true},
	}
}

func ddbFuzzExprs() (map[string]string, map[string]*ddbValue) {
	names := map[string]string{"#o": "owner", "#e": "exp", "#m": "m"}
	values := map[string]*ddbValue{
		":s": {T: ddbS, S: "a"}, ":n": {T: ddbN, S: "5"}, ":z": {T: ddbN, S: "-1.5"},
		":l": {T: ddbL, L: []*ddbValue{{T: ddbS, S: "x"}}}, ":ss": {T: ddbSS, Set: []string{"c"}}, ":t": {T: ddbS, S: "S"},
	}
	return names, values
}

// FuzzDynamoDBExpression parses arbitrary text as a condition, an update
// and a key condition, and evaluates what parses: the parser and the
// evaluator must never panic, every refusal must be a ValidationException,
// and an update must leave the item it started from untouched.
func FuzzDynamoDBExpression(f *testing.F) {
	for _, s := range []string{
		"attribute_not_exists(pk) OR #o = :s OR #e <= :n",
		"SET #e = :n, a = if_not_exists(a, :n) + :z REMOVE gone ADD cnt :n DELETE ss :ss",
		"NOT (#e BETWEEN :z AND :n) AND #o IN (:s, :s) AND size(#m.l) > :n",
		"begins_with(pk, :s) AND contains(ss, :s) AND attribute_type(#o, :t)",
		"SET #m.l[1] = list_append(#m.l, :l), #m.x = #m.x - :n",
		"pk = :s AND sk BETWEEN :s AND :s",
		"status = :s", "((((#o = :s))))", "#o = = :s", ":s", "SET", "", "#undefined = :s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		names, values := ddbFuzzExprs()
		check := func(err error) {
			var ae *apiError
			if err != nil && (!errors.As(err, &ae) || ae.Code != "ValidationException") {
				t.Fatalf("%q: error %v is not a ValidationException", src, err)
			}
		}
		x, _ := newDDBExprs(names, values)
		c, err := x.condition("ConditionExpression", src)
		check(err)
		if err == nil {
			_, err := (&ddbEnv{item: ddbFuzzItem(), values: values, kind: "ConditionExpression"}).cond(c)
			check(err)
			tbl := &DynamoTable{HashKey: "pk", HashType: ddbS, RangeKey: "sk", RangeType: ddbS}
			_, _, err = ddbKeyCondition(tbl, c, values)
			check(err)
		}
		x, _ = newDDBExprs(names, values)
		u, err := x.update(src)
		check(err)
		if err == nil {
			before := ddbFuzzItem()
			it := before.clone()
			_, _, err := u.apply(it, values)
			check(err)
			for k, v := range before {
				if !ddbEqual(v, it[k]) {
					t.Fatalf("%q: update changed the original item's %s", src, k)
				}
			}
		}
	})
}

// TestDynamoDBExpressionErrors pins the messages DynamoDB words.
func TestDynamoDBExpressionErrors(t *testing.T) {
	names, values := ddbFuzzExprs()
	for _, tt := range []struct{ kind, src, want string }{
		{"ConditionExpression", "#o = = :s", `Invalid ConditionExpression: Syntax error; token: "=", near: "= ="`},
		{"ConditionExpression", "#o = :s AND", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"`},
		{"ConditionExpression", "owner = :s", "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: owner"},
		{"ConditionExpression", "#x = :s", "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"ConditionExpression", "#o = :x", "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x"},
		{"ConditionExpression", "frobnicate(#o)", "Invalid ConditionExpression: Invalid function name; function: frobnicate"},
		{"ConditionExpression", "attribute_exists(#o, :s)", "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"},
		{"UpdateExpression", "SET #o = :s, #o = :s", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [owner], path two: [owner]"},
		{"UpdateExpression", "SET #o = :s SET #e = :n", `Invalid UpdateExpression: The "SET" section can only be used once in an update expression;`},
		{"UpdateExpression", "", "Invalid UpdateExpression: The expression can not be empty;"},
		{"ConditionExpression", strings.Repeat("(", 200) + "#o = :s" + strings.Repeat(")", 200), "Invalid ConditionExpression: The expression has too many levels of nesting"},
	} {
		x, _ := newDDBExprs(names, values)
		var err error
		if tt.kind == "UpdateExpression" {
			_, err = x.update(tt.src)
		} else {
			_, err = x.condition(tt.kind, tt.src)
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "ValidationException" || ae.Message != tt.want {
			t.Errorf("%q: %v\nwant ValidationException: %s", tt.src, err, tt.want)
		}
	}
}
