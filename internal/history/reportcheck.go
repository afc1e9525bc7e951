package history

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/keyrot/keyrot/internal/secretscan"
)

// namesKeys are the report's JSON members whose values are names chosen by
// people or tools (users, groups, their ARNs and paths), not screened.
var namesKeys = map[string]bool{"name": true, "user": true, "arn": true, "path": true, "groups": true, "id": true, "user_arn": true, "resource": true}

// maxReportDepth bounds the nesting of a report's JSON.
const maxReportDepth = 1000

// errInvalidReport is the error of a report that is not one JSON value.
var errInvalidReport = fmt.Errorf("report is not valid JSON: %w", ErrInvalid)

// checkReport reads one JSON value from r and refuses it if a string in it
// is shaped like a secret, but for the values of the members in namesKeys
// (and of the arrays such members hold: an array's values are screened
// under its member's name). It reads the document once, byte by byte, and
// keeps only the string at hand: an organization's report is hundreds of
// MB.
func checkReport(r io.Reader) error {
	s := &reportScanner{r: bufio.NewReaderSize(r, 64<<10)}
	c, err := s.skipSpace()
	if err != nil {
		return errInvalidReport
	}
	if err := s.value(c, "", 0); err != nil {
		return err
	}
	if _, err := s.skipSpace(); err != io.EOF {
		return errInvalidReport // more than one value, or a read error
	}
	return nil
}

// reportScanner reads JSON for checkReport.
type reportScanner struct {
	r   *bufio.Reader
	str []byte // the string being read, unescaped
}

// skipSpace returns the next byte that is not JSON white space.
func (s *reportScanner) skipSpace() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
	}
}

// next is skipSpace with the end of input taken for invalid JSON.
func (s *reportScanner) next() (byte, error) {
	c, err := s.skipSpace()
	if err != nil {
		return 0, errInvalidReport
	}
	return c, nil
}

// value reads the value starting with c, screened under key.
func (s *reportScanner) value(c byte, key string, depth int) error {
	if depth > maxReportDepth {
		return errInvalidReport
	}
	switch {
	case c == '{':
		return s.members('}', func(c byte) error {
			if c != '"' {
				return errInvalidReport
			}
			if err := s.readString(); err != nil {
				return err
			}
			name := string(s.str)
			c, err := s.next()
			if err != nil || c != ':' {
				return errInvalidReport
			}
			if c, err = s.next(); err != nil {
				return err
			}
			return s.value(c, name, depth+1)
		})
	case c == '[':
		return s.members(']', func(c byte) error { return s.value(c, key, depth+1) })
	case c == '"':
		if err := s.readString(); err != nil {
			return err
		}
		if !namesKeys[key] && secretscan.Contains(string(s.str)) {
			return fmt.Errorf("report member %q: %w", key, ErrSecretMaterial)
		}
		return nil
	case c == 't':
		return s.literal("rue")
	case c == 'f':
		return s.literal("alse")
	case c == 'n':
		return s.literal("ull")
	case c == '-' || c >= '0' && c <= '9':
		return s.number(c)
	}
	return errInvalidReport
}

// members reads the members of an object or the values of an array, whose
// opening was read, up to close: member reads one, starting with c.
func (s *reportScanner) members(close byte, member func(c byte) error) error {
	c, err := s.next()
	if err != nil || c == close {
		return err
	}
	for {
		if err := member(c); err != nil {
			return err
		}
		if c, err = s.next(); err != nil || c == close {
			return err
		}
		if c != ',' {
			return errInvalidReport
		}
		if c, err = s.next(); err != nil {
			return err
		}
	}
}

// literal reads the rest of true, false or null.
func (s *reportScanner) literal(rest string) error {
	for i := range len(rest) {
		if c, err := s.r.ReadByte(); err != nil || c != rest[i] {
			return errInvalidReport
		}
	}
	return s.delimited()
}

// delimited checks that what follows a number or literal may follow a
// value (a literal run into a letter, "truex", is not JSON).
func (s *reportScanner) delimited() error {
	c, err := s.r.ReadByte()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return errInvalidReport
	}
	s.r.UnreadByte()
	switch c {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return nil
	}
	return errInvalidReport
}

// number reads a number starting with c, as JSON's grammar has it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *reportScanner) number(c byte) error {
	var err error
	read := func() {
		if err == nil {
			c, err = s.r.ReadByte()
		}
	}
	digits := func() int {
		n := 0
		for err == nil && c >= '0' && c <= '9' {
			n++
			read()
		}
		return n
	}
	if c == '-' {
		read()
	}
	switch {
	case err != nil:
		return errInvalidReport
	case c == '0':
		read()
	case c >= '1' && c <= '9':
		digits()
	default:
		return errInvalidReport
	}
	if err == nil && c == '.' {
		read()
		if digits() == 0 {
			return errInvalidReport
		}
	}
	if err == nil && (c == 'e' || c == 'E') {
		read()
		if err == nil && (c == '+' || c == '-') {
			read()
		}
		if digits() == 0 {
			return errInvalidReport
		}
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return errInvalidReport
	}
	s.r.UnreadByte()
	return s.delimited()
}

// readString reads a string whose opening quote was read into s.str,
// unescaped.
func (s *reportScanner) readString() error {
	s.str = s.str[:0]
	for {
		c, err := s.r.ReadByte()
		switch {
		case err != nil || c < 0x20:
			return errInvalidReport
		case c == '"':
			return nil
		case c != '\\':
			s.str = append(s.str, c)
			continue
		}
		if c, err = s.r.ReadByte(); err != nil {
			return errInvalidReport
		}
		switch c {
		case '"', '\\', '/':
			s.str = append(s.str, c)
		case 'b':
			s.str = append(s.str, '\b')
		case 'f':
			s.str = append(s.str, '\f')
		case 'n':
			s.str = append(s.str, '\n')
		case 'r':
			s.str = append(s.str, '\r')
		case 't':
			s.str = append(s.str, '\t')
		case 'u':
			r, err := s.hex4()
			if err != nil {
				return err
			}
			if utf16.IsSurrogate(r) {
				// A pair is two escapes; a lone half is U+FFFD, as
				// encoding/json decodes it.
				if b, err := s.r.Peek(2); err == nil && b[0] == '\\' && b[1] == 'u' {
					s.r.Discard(2)
					r2, err := s.hex4()
					if err != nil {
						return err
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						s.str = utf8.AppendRune(s.str, utf8.RuneError)
						r = r2
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			s.str = utf8.AppendRune(s.str, r)
		default:
			return errInvalidReport
		}
	}
}

// hex4 reads the four hex digits of a \u escape.
func (s *reportScanner) hex4() (rune, error) {
	var r rune
	for range 4 {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, errInvalidReport
		}
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errInvalidReport
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
