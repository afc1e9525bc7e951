package iampolicy

// Parse parses a policy document of the given kind and checks it against
// the policy grammar as AWS does. A malformed document returns a
// *ParseError (errors.Is(err, ErrMalformed)) locating the problem.
func Parse(kind Kind, doc []byte) (*Policy, error) {
	return parse(kind, doc)
}

// MustParse is Parse for documents known to be valid, such as those
// embedded in the program; it panics on error.
func MustParse(kind Kind, doc string) *Policy {
	p, err := Parse(kind, []byte(doc))
	if err != nil {
		panic("iampolicy: " + err.Error())
	}
	return p
}
