package sandbox

func stsActions() map[string]handler {
	return map[string]handler{
		"GetCallerIdentity": stsGetCallerIdentity,
	}
}

type getCallerIdentityResult struct {
	Arn     string
	UserId  string
	Account string
}

func stsGetCallerIdentity(r *request) (any, error) {
	return getCallerIdentityResult{Arn: r.caller.ARN, UserId: r.caller.UserID, Account: r.caller.AccountID}, nil
}
