package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// CORS answers of a trigger that enables CORS, as nginx-ingress's
// enable-cors does by default.
const (
	corsAllowMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	corsAllowHeaders = "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization"
	corsMaxAge       = "1728000"
)

// corsPolicy is a trigger's CORS setting; nil means CORS is off.
type corsPolicy struct {
	any     bool            // every origin
	origins map[string]bool // else these, lowercased, exactly
}

// newCORSPolicy returns the policy of a trigger with CORS on: origins
// empty (or "*") means every origin.
func newCORSPolicy(origins []string) (*corsPolicy, error) {
	p := &corsPolicy{origins: make(map[string]bool)}
	for _, o := range origins {
		o = strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
		switch {
		case o == "":
		case o == "*":
			p.any = true
		case !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.ContainsAny(o[strings.Index(o, "//")+2:], "/ ?#"):
			return nil, fmt.Errorf("CORS origin %q is not an origin: use scheme://host[:port], for example https://app.example.com", o)
		default:
			p.origins[o] = true
		}
	}
	if len(p.origins) == 0 {
		p.any = true
	}
	return p, nil
}

func (p *corsPolicy) allows(origin string) bool {
	return p.any || p.origins[strings.ToLower(origin)]
}

// apply sets the CORS headers of a function's answer: none at all without
// a policy (whatever the function or its host sent), the trigger's
// otherwise.
func (p *corsPolicy) apply(h http.Header, origin string) {
	if p == nil {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				delete(h, k)
			}
		}
		return
	}
	if p.any {
		if h.Get("Access-Control-Allow-Origin") == "" {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		return
	}
	h.Del("Access-Control-Allow-Origin")
	h.Del("Access-Control-Allow-Credentials")
	h.Add("Vary", "Origin")
	if origin != "" && p.allows(origin) {
		h.Set("Access-Control-Allow-Origin", origin)
	}
}

// preflight answers a CORS preflight request for tr.
func preflight(w http.ResponseWriter, r *http.Request, tr *trigger) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	if !tr.cors.allows(origin) {
		h.Add("Vary", "Origin")
		textError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not allowed by HTTP trigger %q: allowed are %s", origin, tr.name, tr.cors.list()))
		return
	}
	if tr.cors.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

func (p *corsPolicy) list() string {
	var out []string
	for o := range p.origins {
		out = append(out, o)
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
