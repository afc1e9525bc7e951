package sandbox

func orgActions() map[string]handler {
	return map[string]handler{}
}
