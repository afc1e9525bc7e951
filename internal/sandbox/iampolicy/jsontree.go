package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The parser reads the document into a small tree that remembers where
// each value starts, so that a problem found while checking the grammar can
// be reported at its line and column.

type nodeKind int

const (
	nodeString nodeKind = iota + 1
	nodeNumber
	nodeBool
	nodeNull
	nodeObject
	nodeArray
)

var nodeKindName = map[nodeKind]string{
	nodeString: "a string",
	nodeNumber: "a number",
	nodeBool:   "a boolean",
	nodeNull:   "null",
	nodeObject: "an object",
	nodeArray:  "an array",
}

// node is one JSON value and its offset in the document.
type node struct {
	kind nodeKind
	off  int64
	// str is the text of a string, number or boolean.
	str string
	// members of an object, in document order; elems of an array.
	members []member
	elems   []*node
}

type member struct {
	key    string
	keyOff int64
	val    *node
}

// maxDepth bounds nesting: no policy element nests deeper than
// Condition → operator → key → list.
const maxDepth = 32

// treeReader builds nodes from a json.Decoder's token stream.
type treeReader struct {
	doc []byte
	dec *json.Decoder
}

// readTree parses doc as exactly one JSON value.
func readTree(doc []byte) (*node, error) {
	r := &treeReader{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	r.dec.UseNumber()
	n, err := r.value(0)
	if err != nil {
		return nil, err
	}
	off := r.start(r.dec.InputOffset())
	if _, err := r.dec.Token(); err != io.EOF {
		return nil, r.syntax(off, "unexpected data after the policy document")
	}
	return n, nil
}

// start returns the offset of the first byte at or after off that is not
// whitespace or a separator: where the next token begins.
func (r *treeReader) start(off int64) int64 {
	for off < int64(len(r.doc)) {
		switch r.doc[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func (r *treeReader) syntax(off int64, detail string) error {
	return newParseError(r.doc, ProblemSyntax, off, -1, detail)
}

// tokenErr turns an error from the decoder into a ParseError.
func (r *treeReader) tokenErr(err error, off int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return r.syntax(se.Offset, se.Error())
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.syntax(int64(len(r.doc)), "unexpected end of document")
	}
	return r.syntax(off, err.Error())
}

func (r *treeReader) value(depth int) (*node, error) {
	off := r.start(r.dec.InputOffset())
	tok, err := r.dec.Token()
	if err != nil {
		return nil, r.tokenErr(err, off)
	}
	return r.fromToken(tok, off, depth)
}

func (r *treeReader) fromToken(tok json.Token, off int64, depth int) (*node, error) {
	switch t := tok.(type) {
	case string:
		return &node{kind: nodeString, off: off, str: t}, nil
	case json.Number:
		return &node{kind: nodeNumber, off: off, str: string(t)}, nil
	case bool:
		s := "false"
		if t {
			s = "true"
		}
		return &node{kind: nodeBool, off: off, str: s}, nil
	case nil:
		return &node{kind: nodeNull, off: off}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, r.syntax(off, "nested too deeply")
		}
		switch t {
		case '{':
			return r.object(off, depth+1)
		case '[':
			return r.array(off, depth+1)
		}
	}
	return nil, r.syntax(off, "unexpected token")
}

func (r *treeReader) object(off int64, depth int) (*node, error) {
	n := &node{kind: nodeObject, off: off}
	for {
		koff := r.start(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if err != nil {
			return nil, r.tokenErr(err, koff)
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return n, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, r.syntax(koff, "object key must be a string")
		}
		v, err := r.value(depth)
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, member{key: key, keyOff: koff, val: v})
	}
}

func (r *treeReader) array(off int64, depth int) (*node, error) {
	n := &node{kind: nodeArray, off: off}
	for {
		eoff := r.start(r.dec.InputOffset())
		tok, err := r.dec.Token()
		if err != nil {
			return nil, r.tokenErr(err, eoff)
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			return n, nil
		}
		v, err := r.fromToken(tok, eoff, depth)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
	}
}

// lineCol returns the 1-based line and column (in bytes) of off in doc.
func lineCol(doc []byte, off int64) (line, col int) {
	if off > int64(len(doc)) {
		off = int64(len(doc))
	}
	if off < 0 {
		off = 0
	}
	before := doc[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func newParseError(doc []byte, p Problem, off int64, stmt int, detail string) *ParseError {
	line, col := lineCol(doc, off)
	return &ParseError{Problem: p, Offset: off, Line: line, Column: col, Statement: stmt, Detail: detail}
}
