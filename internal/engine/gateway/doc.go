// Package gateway is the local engine's HTTP front door: one http.Handler
// that routes a request to a function instance, either by the function's
// name in the path or through an HTTP trigger (host, path prefix, basic
// auth, CORS), and proxies it there.
//
// # Routing table
//
// The table is replaced as a whole with [Gateway.SetRoutes]; requests in
// flight keep the table they started with. A [Function] lists its ready
// instances (Backends: base URL and instance token); an [HTTPTrigger] points at a function of
// its namespace.
//
// # Which route a request takes
//
//  1. HTTP triggers come first. The request's Host header, lowercased and
//     without its port, selects the triggers whose Host is exactly that name;
//     when there is none, the triggers with an empty Host (any host) are used
//     instead, as an ingress controller's default server would. Among those,
//     the trigger with the longest Path that is a prefix of the request path
//     on a segment boundary wins ("/api" matches "/api", "/api/" and
//     "/api/x", not "/apix"; an empty Path or "/" matches every path).
//  2. Otherwise the path names the function: /<function>[/rest] for a
//     function of namespace "default", and /<namespace>/<function>[/rest]
//     for any namespace. A function of "default" whose name equals the first
//     segment takes precedence over a namespace of that name, so
//     /default/<function> also works as long as no function is called
//     "default".
//
// # What the function receives
//
// The path after the function (or after the trigger's prefix, which is
// replaced by "/" as the original ingress did with rewrite-target: /) and
// the query string unchanged; "/hello/a/b?x=1" reaches function hello as
// "/a/b?x=1" and "/hello" as "/". Headers pass through (hop-by-hop ones
// excepted), including Host and Authorization, with X-Forwarded-For,
// X-Forwarded-Host and X-Forwarded-Proto added. The status, headers and
// body of the answer come back unchanged, streamed: a response without a
// Content-Length is flushed to the client as each chunk arrives.
//
// # Instances
//
// Each request carries the chosen instance's token in
// X-Kubeless-Instance-Token (an instance of the local engine refuses any
// request without it); a value the client sent for that header is dropped.
// Backends are used round-robin. When connecting to one fails (the instance
// died or has not bound its port yet), the request is retried once on the
// next instance, but only when nothing of its body has been sent, so every
// retry is safe. Any other failure is answered at once.
//
// # Errors
//
// Every error is one plain-text line with its status:
//
//   - 404 unknown function: `function "x" not found in namespace "default":
//     deploy it with kubeless function deploy x` (with " -n <ns>" added for
//     other namespaces)
//   - 503 no instance ready: `function "x" has no ready instance (status:
//     Building)`, the status being the route's Function.Status
//   - for a function at zero (Function.OnDemand, scale to zero; see
//     wake.go), the call is held while Options.Wake starts an instance;
//     503 `function "x" could not start: <why>` when the start failed,
//     503 `function "x" is starting and N calls already wait for it: retry
//     later` past Options.MaxHeld held calls (with Retry-After), 504
//     `function "x" was at zero instances and did not start within 1m0s:
//     the call was not sent to it` past Options.HoldTimeout
//   - 502 instance unreachable: `function "x" is unreachable: <error>`
//   - 504 no answer within the function's timeout plus a grace second (so
//     the instance's own 408 still gets through): `function "x" did not
//     answer within 31s`
//   - 401 basic auth missing or wrong, with WWW-Authenticate: Basic; 429
//     too many password checks from one client
//   - 403 a Host that is not the gateway's nor a trigger's; a CORS
//     preflight from an origin the trigger does not allow
//   - 400 a request with both Content-Length and Transfer-Encoding
//   - 500 a trigger whose configuration could not be used (bad basic auth
//     entry): the trigger answers this instead of routing without its
//     authentication
//
// # Basic auth
//
// HTTPTrigger.BasicAuth holds htpasswd lines, as in the secret the original
// passed to the ingress controller: "user:hash" with a bcrypt hash
// (htpasswd -B, $2a$/$2b$/$2y$), an Apache MD5 hash (htpasswd -m, the
// htpasswd default, $apr1$) or a SHA-1 hash (htpasswd -s, {SHA}). Plain-text
// and crypt(3) DES passwords are refused. Blank lines and lines starting
// with "#" are ignored. Successful bcrypt checks are cached (by a SHA-256 of
// user and password) so that a client sending the same credentials does not
// pay for bcrypt on every request.
//
// The users of a trigger are also required when its function is called by
// name (/<function>, /<namespace>/<function>): any protecting trigger's
// users pass there. HTTPTrigger.OpenByName leaves the name route open. An
// unknown user costs a password check of the trigger's costliest kind, so
// user names cannot be told by timing. Password checks that are not a
// repeat of credentials that already passed are limited per client address
// (a burst of 10, then one a second); past that the client gets 429 with
// Retry-After, without a check.
//
// # Host
//
// A request is served only when its Host is localhost or an IP address with
// the port the gateway listens on, or the host of an HTTP trigger (any
// port); any other gets 403, so that a web page whose name was made to
// resolve to this machine (DNS rebinding) cannot call functions.
//
// # CORS
//
// Only a trigger with CORS set answers preflights (OPTIONS with
// Access-Control-Request-Method) itself, with 204 and the
// Access-Control-Allow-* headers for an allowed origin (403 for another),
// without asking for credentials, since browsers send none on a preflight;
// its answers get Access-Control-Allow-Origin for an allowed origin
// (CORSOrigins; "*" when it names none). Every other answer is stripped of
// the Access-Control-* headers the instance sent.
package gateway
