package yamlconf

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one defect in a YAML file.
type Problem struct {
	File string
	// Line is the 1-based line in File; 0 when the value came from defaults.
	Line int
	// Path is the key path, such as access_keys.rotate_after or
	// exemptions[0].match.user; empty for the document as a whole.
	Path    string
	Message string
}

// String formats the problem as "file:line: path: message", leaving out
// whatever is unknown ("line N: path: message" without a file).
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every defect found in a file; it is an error.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by line, then path, keeping the order of
// problems at the same line and path.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Path < ps[j].Path
	})
}

// Covers reports whether one of the problems is about path or something
// under it (path.key or path[i]). Validators use it to stay quiet about
// values the decoder already reported.
func (ps Problems) Covers(path string) bool {
	for _, p := range ps {
		if p.Path == path || under(p.Path, path) {
			return true
		}
	}
	return false
}

// under reports whether p is strictly below parent.
func under(p, parent string) bool {
	if parent == "" {
		return p != ""
	}
	return strings.HasPrefix(p, parent) && len(p) > len(parent) && (p[len(parent)] == '.' || p[len(parent)] == '[')
}

// Lines maps a key path, such as "access_keys.rotate_after" or
// "exemptions[0]", to its line in the file: the line of the key for a
// mapping's value, of the item for a list's. The decoder fills it with
// every path it sees ("" is the document), so a validator can say where a
// value is.
type Lines map[string]int

// Nearest returns the line of path or, when path is not in the file (a
// missing key), the line of its closest ancestor that is; 0 if none is.
func (l Lines) Nearest(path string) int {
	for {
		if n, ok := l[path]; ok {
			return n
		}
		if path == "" {
			return 0
		}
		path = parent(path)
	}
}

// parent returns a.b for a.b.c and a.b[2], and "" for a.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// Checker collects the problems a validator finds in a decoded file. It
// stays quiet about a value the decoder already reported (or one inside
// it), so that one defect is said once.
type Checker struct {
	File    string
	Lines   Lines
	Decoded Problems
	// Problems are those the validator found, in the order found.
	Problems Problems
}

// Checker returns a Checker for the values d decoded.
func (d *Decoder) Checker() *Checker {
	return &Checker{File: d.File, Lines: d.Lines, Decoded: d.Problems}
}

// Addf reports a problem with path at the line of at (a path, or its
// nearest ancestor when absent), unless the decoder reported path.
func (c *Checker) Addf(at, path, format string, args ...any) {
	if c.Decoded.Covers(path) {
		return
	}
	c.Problems = append(c.Problems, Problem{File: c.File, Line: c.Lines.Nearest(at), Path: path, Message: fmt.Sprintf(format, args...)})
}

// All returns the decoder's problems and the validator's, sorted.
func (c *Checker) All() Problems {
	all := append(append(Problems(nil), c.Decoded...), c.Problems...)
	all.Sort()
	return all
}
