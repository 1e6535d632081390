// POST example (handler hellowithdata.Handler): prints the event (see
// `kubeless function logs post-go`) and answers the request body:
// `kubeless function call post-go --data '{"it-s": "alive"}'` answers
// {"it-s": "alive"}.
package kubeless

import (
	"fmt"

	"github.com/kubeless/kubeless/pkg/functions"
)

// Handler answers the request body.
func Handler(event functions.Event, context functions.Context) (string, error) {
	fmt.Println(event)
	return event.Data, nil
}
