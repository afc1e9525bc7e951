package sandbox

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DynamoDB expressions: condition expressions (also key conditions) and
// update expressions, parsed into a tree and evaluated against an item.
// The grammar is AWS's ("Condition and filter expressions, operators, and
// functions in DynamoDB" and "Using update expressions in DynamoDB", the
// DynamoDB developer guide):
//
//	condition ::= operand comparator operand
//	            | operand BETWEEN operand AND operand
//	            | operand IN ( operand (, operand)* )
//	            | function
//	            | condition AND condition | condition OR condition
//	            | NOT condition | ( condition )
//	comparator ::= = | <> | < | <= | > | >=
//	operand   ::= path | :value | size(path)
//	path      ::= name ( . name | [ digits ] )*      name: word or #alias
//	update    ::= ( SET set-action (, set-action)*
//	              | REMOVE path (, path)*
//	              | ADD path :value (, path :value)*
//	              | DELETE path :value (, path :value)* )+
//	set-action ::= path = value
//	value     ::= term | term + term | term - term
//	term      ::= operand | if_not_exists(path, value) | list_append(value, value)
//
// Precedence, loosest first: OR, AND, NOT, then the comparisons. Keywords
// and function names are case-insensitive; a bare attribute name that is a
// reserved word is refused, as DynamoDB does.

//go:embed dynamodb_reserved.txt
var ddbReservedText string

var ddbReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(ddbReservedText, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			m[l] = true
		}
	}
	return m
}()

// ddbMaxExpression is the longest expression DynamoDB accepts (4 KB).
const ddbMaxExpression = 4096

// --- tokens ---

type ddbTokKind int

const (
	tkEOF ddbTokKind = iota
	tkWord
	tkName  // #alias
	tkValue // :value
	tkNumber
	tkPunct
)

type ddbToken struct {
	kind ddbTokKind
	text string
	pos  int
}

func ddbLex(s string) ([]ddbToken, *ddbSyntaxError) {
	var out []ddbToken
	i := 0
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, &ddbSyntaxError{token: string(c), near: ddbNear(s, i, i+1)}
			}
			k := tkName
			if c == ':' {
				k = tkValue
			}
			out = append(out, ddbToken{k, s[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			out = append(out, ddbToken{tkNumber, s[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			out = append(out, ddbToken{tkWord, s[i:j], i})
			i = j
		case c == '<' && i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '='), c == '>' && i+1 < len(s) && s[i+1] == '=':
			out = append(out, ddbToken{tkPunct, s[i : i+2], i})
			i += 2
		case strings.IndexByte("=<>(),.[]+-", c) >= 0:
			out = append(out, ddbToken{tkPunct, s[i : i+1], i})
			i++
		default:
			j := i + 1
			for j < len(s) && s[j]&0xC0 == 0x80 {
				j++ // the whole UTF-8 sequence
			}
			return nil, &ddbSyntaxError{token: s[i:j], near: ddbNear(s, i, j)}
		}
	}
	out = append(out, ddbToken{tkEOF, "<EOF>", len(s)})
	return out, nil
}

// ddbNear is the text around a bad token, as DynamoDB's syntax errors quote it.
func ddbNear(s string, from, to int) string {
	a := from
	for a > 0 && s[a-1] == ' ' {
		a--
	}
	for a > 0 && s[a-1] != ' ' {
		a--
	}
	b := to
	for b < len(s) && s[b] != ' ' {
		b++
	}
	return strings.TrimSpace(s[a:b])
}

// ddbSyntaxError is a syntax error at a token.
type ddbSyntaxError struct {
	token, near string
}

// --- tree ---

type ddbPathElem struct {
	name  string // resolved attribute name; "" for an index
	index int
	isIdx bool
}

type ddbPath []ddbPathElem

func (p ddbPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.isIdx {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// ddbOperand is a value-producing node: a path, a :value, size(path),
// if_not_exists, list_append, or + and -.
type ddbOperand struct {
	kind  string // path, value, size, if_not_exists, list_append, +, -
	path  ddbPath
	value string // :name
	args  []*ddbOperand
}

// ddbCond is a condition node.
type ddbCond struct {
	op   string // = <> < <= > >= BETWEEN IN AND OR NOT attribute_exists attribute_not_exists attribute_type begins_with contains
	args []*ddbOperand
	subs []*ddbCond
}

// ddbParser parses one expression. It resolves #aliases and checks
// :values as it goes, recording which it used.
type ddbParser struct {
	src    string
	toks   []ddbToken
	i      int
	names  map[string]string
	values map[string]*ddbValue
	usedN  map[string]bool
	usedV  map[string]bool
	kind   string // ConditionExpression, UpdateExpression, KeyConditionExpression
	err    error
}

func newDDBParser(kind, src string, names map[string]string, values map[string]*ddbValue) (*ddbParser, error) {
	p := &ddbParser{src: src, names: names, values: values, kind: kind, usedN: map[string]bool{}, usedV: map[string]bool{}}
	if strings.TrimSpace(src) == "" {
		return nil, ddbValidation("Invalid %s: The expression can not be empty;", kind)
	}
	if len(src) > ddbMaxExpression {
		return nil, ddbValidation("Invalid %s: Expression size has exceeded the maximum allowed size; expression size: %d", kind, len(src))
	}
	toks, serr := ddbLex(src)
	if serr != nil {
		return nil, p.syntaxErr(serr)
	}
	p.toks = toks
	return p, nil
}

func (p *ddbParser) syntaxErr(e *ddbSyntaxError) error {
	return ddbValidation("Invalid %s: Syntax error; token: \"%s\", near: \"%s\"", p.kind, e.token, e.near)
}

func (p *ddbParser) peek() ddbToken { return p.toks[p.i] }

func (p *ddbParser) next() ddbToken {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

// fail records the first error and returns it.
func (p *ddbParser) fail(err error) error {
	if p.err == nil {
		p.err = err
	}
	return p.err
}

// unexpected is a syntax error at the current token.
func (p *ddbParser) unexpected() error {
	t := p.peek()
	if t.kind == tkEOF {
		prev := ""
		if p.i > 0 {
			prev = p.toks[p.i-1].text
		}
		return p.fail(p.syntaxErr(&ddbSyntaxError{token: "<EOF>", near: prev}))
	}
	return p.fail(p.syntaxErr(&ddbSyntaxError{token: t.text, near: ddbNear(p.src, t.pos, t.pos+len(t.text))}))
}

func (p *ddbParser) isKeyword(t ddbToken, kw string) bool {
	return t.kind == tkWord && strings.EqualFold(t.text, kw)
}

func (p *ddbParser) expectPunct(s string) error {
	if t := p.peek(); t.kind == tkPunct && t.text == s {
		p.next()
		return nil
	}
	return p.unexpected()
}

// parsePath reads a document path.
func (p *ddbParser) parsePath() (ddbPath, error) {
	var path ddbPath
	name, err := p.pathName()
	if err != nil {
		return nil, err
	}
	path = append(path, ddbPathElem{name: name})
	for {
		t := p.peek()
		if t.kind != tkPunct {
			return path, nil
		}
		switch t.text {
		case ".":
			p.next()
			name, err := p.pathName()
			if err != nil {
				return nil, err
			}
			path = append(path, ddbPathElem{name: name})
		case "[":
			p.next()
			n := p.peek()
			if n.kind != tkNumber {
				return nil, p.unexpected()
			}
			p.next()
			idx, err := strconv.Atoi(n.text)
			if err != nil || idx > 1<<20 {
				return nil, p.fail(ddbValidation("Invalid %s: List index is out of range; index: %s", p.kind, n.text))
			}
			if err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			path = append(path, ddbPathElem{index: idx, isIdx: true})
		default:
			return path, nil
		}
	}
}

func (p *ddbParser) pathName() (string, error) {
	t := p.peek()
	switch t.kind {
	case tkName:
		p.next()
		v, ok := p.names[t.text]
		if !ok {
			return "", p.fail(ddbValidation("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", p.kind, t.text))
		}
		p.usedN[t.text] = true
		return v, nil
	case tkWord:
		if c := t.text[0]; c >= '0' && c <= '9' {
			return "", p.unexpected()
		}
		p.next()
		if ddbReserved[strings.ToUpper(t.text)] {
			return "", p.fail(ddbValidation("Invalid %s: Attribute name is a reserved keyword; reserved keyword: %s", p.kind, t.text))
		}
		return t.text, nil
	}
	return "", p.unexpected()
}

func (p *ddbParser) valueRef() (string, error) {
	t := p.next()
	if _, ok := p.values[t.text]; !ok {
		return "", p.fail(ddbValidation("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", p.kind, t.text))
	}
	p.usedV[t.text] = true
	return t.text, nil
}

// ddbFunctions are the functions of conditions and updates; true marks
// those that give a value rather than a condition.
var ddbFunctions = map[string]bool{
	"attribute_exists": false, "attribute_not_exists": false, "attribute_type": false,
	"begins_with": false, "contains": false, "size": true, "if_not_exists": true, "list_append": true,
}

// parseOperand reads a condition operand: path, :value or size(path).
func (p *ddbParser) parseOperand() (*ddbOperand, error) {
	t := p.peek()
	switch {
	case t.kind == tkValue:
		v, err := p.valueRef()
		if err != nil {
			return nil, err
		}
		return &ddbOperand{kind: "value", value: v}, nil
	case t.kind == tkWord && p.toks[p.i+1].text == "(":
		fn := strings.ToLower(t.text)
		isValue, known := ddbFunctions[fn]
		if !known {
			return nil, p.fail(ddbValidation("Invalid %s: Invalid function name; function: %s", p.kind, t.text))
		}
		if !isValue || fn != "size" {
			return nil, p.fail(ddbValidation("Invalid %s: The function is not allowed to be used this way in an expression; function: %s", p.kind, t.text))
		}
		p.next()
		p.next()
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return &ddbOperand{kind: "size", path: path}, nil
	case t.kind == tkName || t.kind == tkWord:
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		return &ddbOperand{kind: "path", path: path}, nil
	}
	return nil, p.unexpected()
}

// parseCondition reads a whole condition expression.
func (p *ddbParser) parseCondition() (*ddbCond, error) {
	c, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tkEOF {
		return nil, p.unexpected()
	}
	return c, nil
}

// maxDepth bounds nesting, so a hostile expression cannot exhaust the stack.
const ddbMaxDepth = 100

func (p *ddbParser) parseOr(depth int) (*ddbCond, error) {
	l, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword(p.peek(), "OR") {
		p.next()
		r, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l = &ddbCond{op: "OR", subs: []*ddbCond{l, r}}
	}
	return l, nil
}

func (p *ddbParser) parseAnd(depth int) (*ddbCond, error) {
	l, err := p.parseNot(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword(p.peek(), "AND") {
		p.next()
		r, err := p.parseNot(depth)
		if err != nil {
			return nil, err
		}
		l = &ddbCond{op: "AND", subs: []*ddbCond{l, r}}
	}
	return l, nil
}

func (p *ddbParser) parseNot(depth int) (*ddbCond, error) {
	if depth > ddbMaxDepth {
		return nil, p.fail(ddbValidation("Invalid %s: The expression has too many levels of nesting", p.kind))
	}
	if p.isKeyword(p.peek(), "NOT") {
		p.next()
		c, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &ddbCond{op: "NOT", subs: []*ddbCond{c}}, nil
	}
	return p.parsePrimary(depth)
}

func (p *ddbParser) parsePrimary(depth int) (*ddbCond, error) {
	t := p.peek()
	if t.kind == tkPunct && t.text == "(" {
		p.next()
		c, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if t.kind == tkWord && p.toks[p.i+1].text == "(" {
		fn := strings.ToLower(t.text)
		isValue, known := ddbFunctions[fn]
		if !known {
			return nil, p.fail(ddbValidation("Invalid %s: Invalid function name; function: %s", p.kind, t.text))
		}
		if !isValue {
			return p.parseFunction(fn)
		}
	}
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	t = p.peek()
	switch {
	case t.kind == tkPunct && (t.text == "=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.next()
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &ddbCond{op: t.text, args: []*ddbOperand{l, r}}, nil
	case p.isKeyword(t, "BETWEEN"):
		p.next()
		lo, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword(p.peek(), "AND") {
			return nil, p.unexpected()
		}
		p.next()
		hi, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &ddbCond{op: "BETWEEN", args: []*ddbOperand{l, lo, hi}}, nil
	case p.isKeyword(t, "IN"):
		p.next()
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		args := []*ddbOperand{l}
		for {
			o, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			args = append(args, o)
			if p.peek().text == "," && p.peek().kind == tkPunct {
				p.next()
				continue
			}
			break
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		if len(args) > 101 {
			return nil, p.fail(ddbValidation("Invalid %s: The IN operator is provided with too many operands; number of operands: %d", p.kind, len(args)-1))
		}
		return &ddbCond{op: "IN", args: args}, nil
	}
	return nil, p.unexpected()
}

// parseFunction reads a condition function call; the name is current.
func (p *ddbParser) parseFunction(fn string) (*ddbCond, error) {
	p.next()
	p.next() // (
	var args []*ddbOperand
	if p.peek().text != ")" {
		for {
			o, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			args = append(args, o)
			if t := p.peek(); t.kind == tkPunct && t.text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	want := 2
	if fn == "attribute_exists" || fn == "attribute_not_exists" {
		want = 1
	}
	if len(args) != want {
		return nil, p.fail(ddbValidation("Invalid %s: Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", p.kind, fn, len(args)))
	}
	if args[0].kind != "path" {
		return nil, p.fail(ddbValidation("Invalid %s: Operator or function requires a document path; operator or function: %s", p.kind, fn))
	}
	return &ddbCond{op: fn, args: args}, nil
}

// ddbUpdate is a parsed update expression.
type ddbUpdate struct {
	sets    []ddbSetAction
	removes []ddbPath
	adds    []ddbSetAction // value is a :value operand
	deletes []ddbSetAction
}

type ddbSetAction struct {
	path  ddbPath
	value *ddbOperand
}

func (p *ddbParser) parseUpdate() (*ddbUpdate, error) {
	u := &ddbUpdate{}
	seen := map[string]bool{}
	for p.peek().kind != tkEOF {
		t := p.peek()
		if t.kind != tkWord {
			return nil, p.unexpected()
		}
		clause := strings.ToUpper(t.text)
		switch clause {
		case "SET", "REMOVE", "ADD", "DELETE":
		default:
			return nil, p.unexpected()
		}
		if seen[clause] {
			return nil, p.fail(ddbValidation("Invalid %s: The \"%s\" section can only be used once in an update expression;", p.kind, clause))
		}
		seen[clause] = true
		p.next()
		for {
			path, err := p.parsePath()
			if err != nil {
				return nil, err
			}
			switch clause {
			case "SET":
				if err := p.expectPunct("="); err != nil {
					return nil, err
				}
				v, err := p.parseSetValue(0)
				if err != nil {
					return nil, err
				}
				u.sets = append(u.sets, ddbSetAction{path, v})
			case "REMOVE":
				u.removes = append(u.removes, path)
			case "ADD", "DELETE":
				if p.peek().kind != tkValue {
					return nil, p.unexpected()
				}
				v, err := p.valueRef()
				if err != nil {
					return nil, err
				}
				a := ddbSetAction{path, &ddbOperand{kind: "value", value: v}}
				if clause == "ADD" {
					u.adds = append(u.adds, a)
				} else {
					u.deletes = append(u.deletes, a)
				}
			}
			if t := p.peek(); t.kind == tkPunct && t.text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if len(seen) == 0 {
		return nil, p.unexpected()
	}
	// No two actions may touch overlapping paths.
	var all []ddbPath
	for _, a := range u.sets {
		all = append(all, a.path)
	}
	all = append(all, u.removes...)
	for _, a := range u.adds {
		all = append(all, a.path)
	}
	for _, a := range u.deletes {
		all = append(all, a.path)
	}
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			if ddbOverlap(all[i], all[j]) {
				return nil, p.fail(ddbValidation("Invalid %s: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]",
					p.kind, ddbPathList(all[i]), ddbPathList(all[j])))
			}
		}
	}
	return u, nil
}

func ddbPathList(p ddbPath) string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIdx {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return strings.Join(parts, ", ")
}

func ddbOverlap(a, b ddbPath) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseSetValue reads the right side of a SET action.
func (p *ddbParser) parseSetValue(depth int) (*ddbOperand, error) {
	l, err := p.parseSetTerm(depth)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tkPunct && (t.text == "+" || t.text == "-") {
		p.next()
		r, err := p.parseSetTerm(depth)
		if err != nil {
			return nil, err
		}
		return &ddbOperand{kind: t.text, args: []*ddbOperand{l, r}}, nil
	}
	return l, nil
}

func (p *ddbParser) parseSetTerm(depth int) (*ddbOperand, error) {
	if depth > ddbMaxDepth {
		return nil, p.fail(ddbValidation("Invalid %s: The expression has too many levels of nesting", p.kind))
	}
	t := p.peek()
	if t.kind == tkWord && p.toks[p.i+1].text == "(" {
		fn := strings.ToLower(t.text)
		if _, known := ddbFunctions[fn]; !known {
			return nil, p.fail(ddbValidation("Invalid %s: Invalid function name; function: %s", p.kind, t.text))
		}
		if fn != "if_not_exists" && fn != "list_append" {
			return nil, p.fail(ddbValidation("Invalid %s: The function is not allowed in an update expression; function: %s", p.kind, t.text))
		}
		p.next()
		p.next()
		var args []*ddbOperand
		if fn == "if_not_exists" {
			path, err := p.parsePath()
			if err != nil {
				return nil, err
			}
			args = append(args, &ddbOperand{kind: "path", path: path})
		} else {
			a, err := p.parseSetValue(depth + 1)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
		}
		if err := p.expectPunct(","); err != nil {
			return nil, err
		}
		b, err := p.parseSetValue(depth + 1)
		if err != nil {
			return nil, err
		}
		args = append(args, b)
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return &ddbOperand{kind: fn, args: args}, nil
	}
	switch t.kind {
	case tkValue:
		v, err := p.valueRef()
		if err != nil {
			return nil, err
		}
		return &ddbOperand{kind: "value", value: v}, nil
	case tkName, tkWord:
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		return &ddbOperand{kind: "path", path: path}, nil
	}
	return nil, p.unexpected()
}

// --- evaluation ---

// ddbResolve follows a path into an item; nil if any step is missing.
func ddbResolve(it ddbItem, path ddbPath) *ddbValue {
	if len(path) == 0 || path[0].isIdx {
		return nil
	}
	v := it[path[0].name]
	for _, e := range path[1:] {
		if v == nil {
			return nil
		}
		switch {
		case e.isIdx && v.T == ddbL:
			if e.index >= len(v.L) {
				return nil
			}
			v = v.L[e.index]
		case !e.isIdx && v.T == ddbM:
			v = v.M[e.name]
		default:
			return nil
		}
	}
	return v
}

// ddbEnv evaluates expressions against one item.
type ddbEnv struct {
	item   ddbItem
	values map[string]*ddbValue
	kind   string
}

func (e *ddbEnv) operand(o *ddbOperand) (*ddbValue, error) {
	switch o.kind {
	case "value":
		return e.values[o.value], nil
	case "path":
		return ddbResolve(e.item, o.path), nil
	case "size":
		v := ddbResolve(e.item, o.path)
		if v == nil {
			return nil, nil
		}
		var n int
		switch v.T {
		case ddbS, ddbB:
			n = len(v.S)
			if v.T == ddbS {
				n = len([]rune(v.S))
			}
		case ddbSS, ddbNS, ddbBS:
			n = len(v.Set)
		case ddbM:
			n = len(v.M)
		case ddbL:
			n = len(v.L)
		default:
			return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: size, operand type: %s", e.kind, ddbTypeName(v.T))
		}
		return &ddbValue{T: ddbN, S: strconv.Itoa(n)}, nil
	case "if_not_exists":
		if v := ddbResolve(e.item, o.args[0].path); v != nil {
			return v, nil
		}
		return e.operand(o.args[1])
	case "list_append":
		a, err := e.operand(o.args[0])
		if err != nil {
			return nil, err
		}
		b, err := e.operand(o.args[1])
		if err != nil {
			return nil, err
		}
		if a == nil || b == nil {
			return nil, ddbValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		for _, v := range []*ddbValue{a, b} {
			if v.T != ddbL {
				return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: list_append, operand type: %s", e.kind, ddbTypeName(v.T))
			}
		}
		out := &ddbValue{T: ddbL}
		for _, x := range append(append([]*ddbValue(nil), a.L...), b.L...) {
			out.L = append(out.L, x.clone())
		}
		return out, nil
	case "+", "-":
		a, err := e.operand(o.args[0])
		if err != nil {
			return nil, err
		}
		b, err := e.operand(o.args[1])
		if err != nil {
			return nil, err
		}
		if a == nil || b == nil {
			return nil, ddbValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		for _, v := range []*ddbValue{a, b} {
			if v.T != ddbN {
				return nil, ddbValidation("An operand in the update expression has an incorrect data type")
			}
		}
		y := mustDecimal(b.S)
		if o.kind == "-" {
			y = y.neg()
		}
		n, err := ddbNumber(mustDecimal(a.S).add(y).String())
		if err != nil {
			return nil, err
		}
		return &ddbValue{T: ddbN, S: n}, nil
	}
	return nil, fmt.Errorf("unknown operand %q", o.kind)
}

// cond evaluates a condition.
func (e *ddbEnv) cond(c *ddbCond) (bool, error) {
	switch c.op {
	case "AND", "OR":
		l, err := e.cond(c.subs[0])
		if err != nil {
			return false, err
		}
		if c.op == "AND" && !l || c.op == "OR" && l {
			return l, nil
		}
		return e.cond(c.subs[1])
	case "NOT":
		v, err := e.cond(c.subs[0])
		return !v, err
	case "attribute_exists", "attribute_not_exists":
		exists := ddbResolve(e.item, c.args[0].path) != nil
		return exists == (c.op == "attribute_exists"), nil
	}
	vals := make([]*ddbValue, len(c.args))
	for i, a := range c.args {
		v, err := e.operand(a)
		if err != nil {
			return false, err
		}
		vals[i] = v
	}
	switch c.op {
	case "=":
		return vals[0] != nil && vals[1] != nil && ddbEqual(vals[0], vals[1]), nil
	case "<>":
		// A missing attribute differs from every value.
		if vals[0] == nil || vals[1] == nil {
			return !(vals[0] == nil && vals[1] == nil), nil
		}
		return !ddbEqual(vals[0], vals[1]), nil
	case "<", "<=", ">", ">=":
		cmp, ok := ddbCompare(vals[0], vals[1])
		if !ok {
			return false, nil
		}
		switch c.op {
		case "<":
			return cmp < 0, nil
		case "<=":
			return cmp <= 0, nil
		case ">":
			return cmp > 0, nil
		}
		return cmp >= 0, nil
	case "BETWEEN":
		if lo, hi := vals[1], vals[2]; lo != nil && hi != nil && lo.T == hi.T {
			if c, ok := ddbCompare(lo, hi); ok && c > 0 {
				return false, ddbValidation("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, upper bound operand: AttributeValue: {%s:%s}",
					e.kind, lo.T, lo.S, hi.T, hi.S)
			}
		}
		a, ok1 := ddbCompare(vals[0], vals[1])
		b, ok2 := ddbCompare(vals[0], vals[2])
		return ok1 && ok2 && a >= 0 && b <= 0, nil
	case "IN":
		for _, v := range vals[1:] {
			if vals[0] != nil && ddbEqual(vals[0], v) {
				return true, nil
			}
		}
		return false, nil
	case "attribute_type":
		t := vals[1]
		if t == nil || t.T != ddbS {
			return false, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: %s", e.kind, ddbTypeName(t.T))
		}
		switch t.S {
		case ddbS, ddbN, ddbB, ddbSS, ddbNS, ddbBS, ddbM, ddbL, ddbNULL, ddbBOOL:
		default:
			return false, ddbValidation("Invalid %s: Invalid attribute type name found; type: %s, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}", e.kind, t.S)
		}
		return vals[0] != nil && vals[0].T == t.S, nil
	case "begins_with":
		a, b := vals[0], vals[1]
		if b != nil && b.T != ddbS && b.T != ddbB {
			return false, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s", e.kind, ddbTypeName(b.T))
		}
		return a != nil && b != nil && a.T == b.T && strings.HasPrefix(a.S, b.S), nil
	case "contains":
		a, b := vals[0], vals[1]
		if a == nil || b == nil {
			return false, nil
		}
		switch a.T {
		case ddbS, ddbB:
			return b.T == a.T && strings.Contains(a.S, b.S), nil
		case ddbSS, ddbNS, ddbBS:
			if (a.T == ddbSS && b.T == ddbS) || (a.T == ddbNS && b.T == ddbN) || (a.T == ddbBS && b.T == ddbB) {
				for _, s := range a.Set {
					if s == b.S || a.T == ddbNS && mustDecimal(s).cmp(mustDecimal(b.S)) == 0 {
						return true, nil
					}
				}
			}
			return false, nil
		case ddbL:
			for _, x := range a.L {
				if ddbEqual(x, b) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown condition %q", c.op)
}

// ddbSet writes v at path in it, creating nothing on the way: the parent
// of the last step must exist (a list index past the end appends).
func ddbSetPath(it ddbItem, path ddbPath, v *ddbValue, kind string) error {
	if len(path) == 1 {
		it[path[0].name] = v
		return nil
	}
	parent := ddbResolve(it, path[:len(path)-1])
	last := path[len(path)-1]
	switch {
	case parent != nil && last.isIdx && parent.T == ddbL:
		if last.index >= len(parent.L) {
			parent.L = append(parent.L, v)
		} else {
			parent.L[last.index] = v
		}
		return nil
	case parent != nil && !last.isIdx && parent.T == ddbM:
		if parent.M == nil {
			parent.M = map[string]*ddbValue{}
		}
		parent.M[last.name] = v
		return nil
	}
	return ddbValidation("The document path provided in the update expression is invalid for update")
}

// ddbRemovePath deletes the attribute at path, if present.
func ddbRemovePath(it ddbItem, path ddbPath) {
	if len(path) == 1 {
		delete(it, path[0].name)
		return
	}
	parent := ddbResolve(it, path[:len(path)-1])
	last := path[len(path)-1]
	switch {
	case parent == nil:
	case last.isIdx && parent.T == ddbL:
		if last.index < len(parent.L) {
			parent.L = append(parent.L[:last.index], parent.L[last.index+1:]...)
		}
	case !last.isIdx && parent.T == ddbM:
		delete(parent.M, last.name)
	}
}

// apply runs an update on a copy of the item and returns the copy and the
// top-level attribute names it touched.
func (u *ddbUpdate) apply(old ddbItem, values map[string]*ddbValue) (ddbItem, []string, error) {
	it := old.clone()
	if it == nil {
		it = ddbItem{}
	}
	env := &ddbEnv{item: old, values: values, kind: "UpdateExpression"}
	touched := map[string]bool{}
	// SET values are computed from the item as it was before the update.
	type pending struct {
		path ddbPath
		v    *ddbValue
	}
	var sets []pending
	for _, a := range u.sets {
		v, err := env.operand(a.value)
		if err != nil {
			return nil, nil, err
		}
		if v == nil {
			return nil, nil, ddbValidation("The provided expression refers to an attribute that does not exist in the item")
		}
		sets = append(sets, pending{a.path, v.clone()})
	}
	for _, s := range sets {
		if err := ddbSetPath(it, s.path, s.v, env.kind); err != nil {
			return nil, nil, err
		}
		touched[s.path[0].name] = true
	}
	for _, p := range u.removes {
		ddbRemovePath(it, p)
		touched[p[0].name] = true
	}
	for _, a := range u.adds {
		add := values[a.value.value]
		cur := ddbResolve(it, a.path)
		var nv *ddbValue
		switch {
		case add.T == ddbN:
			if cur != nil && cur.T != ddbN {
				return nil, nil, ddbValidation("An operand in the update expression has an incorrect data type")
			}
			sum := mustDecimal(add.S)
			if cur != nil {
				sum = mustDecimal(cur.S).add(sum)
			}
			n, err := ddbNumber(sum.String())
			if err != nil {
				return nil, nil, err
			}
			nv = &ddbValue{T: ddbN, S: n}
		case add.T == ddbSS || add.T == ddbNS || add.T == ddbBS:
			if cur != nil && cur.T != add.T {
				return nil, nil, ddbValidation("An operand in the update expression has an incorrect data type")
			}
			nv = &ddbValue{T: add.T}
			seen := map[string]bool{}
			if cur != nil {
				for _, s := range cur.Set {
					nv.Set = append(nv.Set, s)
					seen[s] = true
				}
			}
			for _, s := range add.Set {
				if !seen[s] {
					nv.Set = append(nv.Set, s)
					seen[s] = true
				}
			}
		default:
			return nil, nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: %s", ddbTypeName(add.T))
		}
		if err := ddbSetPath(it, a.path, nv, env.kind); err != nil {
			return nil, nil, err
		}
		touched[a.path[0].name] = true
	}
	for _, a := range u.deletes {
		del := values[a.value.value]
		if del.T != ddbSS && del.T != ddbNS && del.T != ddbBS {
			return nil, nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: %s", ddbTypeName(del.T))
		}
		cur := ddbResolve(it, a.path)
		if cur == nil {
			continue
		}
		if cur.T != del.T {
			return nil, nil, ddbValidation("An operand in the update expression has an incorrect data type")
		}
		drop := map[string]bool{}
		for _, s := range del.Set {
			drop[s] = true
		}
		var keep []string
		for _, s := range cur.Set {
			if !drop[s] {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			ddbRemovePath(it, a.path)
		} else {
			if err := ddbSetPath(it, a.path, &ddbValue{T: cur.T, Set: keep}, env.kind); err != nil {
				return nil, nil, err
			}
		}
		touched[a.path[0].name] = true
	}
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Strings(names)
	return it, names, nil
}

// ddbExprs holds a request's expression attribute names and values and
// checks at the end that every one was used, as DynamoDB does.
type ddbExprs struct {
	names  map[string]string
	values map[string]*ddbValue
	usedN  map[string]bool
	usedV  map[string]bool
}

func newDDBExprs(names map[string]string, values map[string]*ddbValue) (*ddbExprs, error) {
	if names != nil && len(names) == 0 {
		return nil, ddbValidation("ExpressionAttributeNames must not be empty")
	}
	if values != nil && len(values) == 0 {
		return nil, ddbValidation("ExpressionAttributeValues must not be empty")
	}
	for k := range names {
		if !strings.HasPrefix(k, "#") {
			return nil, ddbValidation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"%s\"", k)
		}
	}
	for k := range values {
		if !strings.HasPrefix(k, ":") {
			return nil, ddbValidation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"%s\"", k)
		}
	}
	return &ddbExprs{names: names, values: values, usedN: map[string]bool{}, usedV: map[string]bool{}}, nil
}

func (x *ddbExprs) parser(kind, src string) (*ddbParser, error) {
	p, err := newDDBParser(kind, src, x.names, x.values)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (x *ddbExprs) record(p *ddbParser) {
	for k := range p.usedN {
		x.usedN[k] = true
	}
	for k := range p.usedV {
		x.usedV[k] = true
	}
}

// condition parses a condition expression ("" for none).
func (x *ddbExprs) condition(kind, src string) (*ddbCond, error) {
	p, err := x.parser(kind, src)
	if err != nil {
		return nil, err
	}
	c, err := p.parseCondition()
	if err != nil {
		return nil, err
	}
	x.record(p)
	return c, nil
}

// update parses an update expression.
func (x *ddbExprs) update(src string) (*ddbUpdate, error) {
	p, err := x.parser("UpdateExpression", src)
	if err != nil {
		return nil, err
	}
	u, err := p.parseUpdate()
	if err != nil {
		return nil, err
	}
	x.record(p)
	return u, nil
}

// checkUnused fails if a name or value was given but not used.
func (x *ddbExprs) checkUnused() error {
	var un []string
	for k := range x.names {
		if !x.usedN[k] {
			un = append(un, k)
		}
	}
	if len(un) > 0 {
		sort.Strings(un)
		return ddbValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(un, ", "))
	}
	for k := range x.values {
		if !x.usedV[k] {
			un = append(un, k)
		}
	}
	if len(un) > 0 {
		sort.Strings(un)
		return ddbValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(un, ", "))
	}
	return nil
}
