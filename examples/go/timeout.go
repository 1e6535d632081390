// Timeout example (handler timeout.Forever): never returns. Deployed with
// --timeout 3, a call answers 408 after 3 seconds (`Request timeout
// exceeded`). A Go function cannot be stopped from outside: since this one
// ignores event.Extensions.Context, the instance restarts itself a second
// after the time limit. A function that may run long should return when
// that context is done.
package kubeless

import "github.com/kubeless/kubeless/pkg/functions"

// Forever loops forever.
func Forever(event functions.Event, context functions.Context) (string, error) {
	for {
	}
}
