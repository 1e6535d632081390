// Package kubescheme is the one runtime.Scheme of Kubeless's Kubernetes
// clients: the controller's, the Kubernetes engine's and the envtest
// harness's.
package kubescheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// New returns a scheme with client-go's types and api/v1beta1.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
