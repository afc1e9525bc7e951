package sandbox

import "net/http"

// controlPrefix is the path under which the control API lives; no AWS
// service uses it.
const controlPrefix = "/_sandbox/"

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
