// GET example (handler helloget.Foo): `kubeless function call get-go`
// answers "Hello world!".
package kubeless

import "github.com/kubeless/kubeless/pkg/functions"

// Foo answers a fixed greeting.
func Foo(event functions.Event, context functions.Context) (string, error) {
	return "Hello world!", nil
}
