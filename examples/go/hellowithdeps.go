// Dependency example (handler hellowithdeps.Hello): logrus comes from
// go.mod, downloaded through the Go module proxy when the function is
// compiled. The function logs the request body with logrus (see
// `kubeless function logs get-go-deps`: level=info msg="{\"hello\": \"world\"}")
// and answers a line that logrus formats too:
// `kubeless function call get-go-deps --data '{"hello": "world"}'` answers
// level=info msg="Hello world!" data="{\"hello\": \"world\"}".
package kubeless

import (
	"strings"

	"github.com/kubeless/kubeless/pkg/functions"
	"github.com/sirupsen/logrus"
)

// Hello logs the request body and answers a greeting formatted by logrus.
func Hello(event functions.Event, context functions.Context) (string, error) {
	logrus.Info(event.Data)
	entry := logrus.WithField("data", event.Data)
	entry.Level = logrus.InfoLevel
	entry.Message = "Hello world!"
	line, err := (&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true}).Format(entry)
	return strings.TrimSpace(string(line)), err
}
