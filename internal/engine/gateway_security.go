package engine

// annotationBasicAuthScope on an HTTP trigger with basic auth set to
// basicAuthScopeTrigger leaves calls by the function's name (/<function>
// on the gateway) open; by default the trigger's users are required there
// too.
const (
	annotationBasicAuthScope = "kubeless.io/basic-auth-scope"
	basicAuthScopeTrigger    = "trigger"
)
