package sandbox

func sesRoutes() []restRoute {
	return nil
}
