package iampolicy

type conditionOp struct{}

func parse(kind Kind, doc []byte) (*Policy, error) {
	return nil, &ParseError{Problem: ProblemSyntax, Line: 1, Column: 1, Statement: -1, Detail: "not implemented"}
}

func evaluate(req *Request, ps *PolicySet) Decision {
	return Decision{Result: ImplicitDeny, StatementIndex: -1}
}

func lookupManaged(string) (*ManagedPolicy, bool) { return nil, false }

func allManaged() []*ManagedPolicy { return nil }
