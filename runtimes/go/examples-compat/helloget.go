// Test copy of the original Go example helloget.go (handler helloget.Foo).
package kubeless

import "github.com/kubeless/kubeless/pkg/functions"

// Foo sample function
func Foo(event functions.Event, context functions.Context) (string, error) {
	return "Hello world!", nil
}
