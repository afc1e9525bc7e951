package sandbox

func secretsActions() map[string]handler {
	return map[string]handler{}
}
