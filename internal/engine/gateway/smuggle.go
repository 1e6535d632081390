package gateway

import "net/http"

// refuseSmuggling answers 400 and closes the connection when the request
// declared both Content-Length and Transfer-Encoding: a proxy in front of
// the gateway could have framed it differently (request smuggling).
// net/http drops Content-Length from such a request before the handler
// sees it; the listener wrapper (see smuggleListener) marks it first.
func refuseSmuggling(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := r.Header[smuggleMark]; !ok {
		return false
	}
	w.Header().Set("Connection", "close")
	textError(w, http.StatusBadRequest, "the request has both Content-Length and Transfer-Encoding: send only one of them")
	return true
}

// smuggleMark is the header the listener wrapper puts in place of the
// Content-Length of a request that also has a Transfer-Encoding.
const smuggleMark = "X-Kubeless-Refused-Content-Length"
