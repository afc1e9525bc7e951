package sandbox

func snsActions() map[string]handler {
	return map[string]handler{}
}
