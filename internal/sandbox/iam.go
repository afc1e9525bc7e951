package sandbox

func iamActions() map[string]handler {
	return map[string]handler{}
}
