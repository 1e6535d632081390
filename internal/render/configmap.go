package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/langruntime"
)

// ConfigMap returns the ConfigMap <name> that holds fn's code
// (docs/compatibility.md §3.1): keys "handler", the code file (named per
// Runtime.FileName: "hello.py" for text, "hello" for an archive) and, when
// the runtime has a dependency file, that file (present even when empty).
// A Function without a handler gets an empty ConfigMap. entry is the zero
// Entry for a Function without a runtime.
func ConfigMap(fn *v1beta1.Function, entry langruntime.Entry) (*corev1.ConfigMap, error) {
	p, err := parse(fn)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(fn, fn.Name),
	}
	if fn.Spec.Handler == "" {
		return cm, nil
	}
	cm.Data = map[string]string{"handler": fn.Spec.Handler}
	cm.Data[codeFileName(p, entry)] = fn.Spec.Function
	if entry.Runtime != nil && entry.Runtime.DepName != "" {
		cm.Data[entry.Runtime.DepName] = fn.Spec.Deps
	}
	return cm, nil
}

// codeFileName is the ConfigMap key of the code and its name in the install
// volume when it is not an archive. A ConfigMap key holds no "/": for a
// handler in a sub-folder (src/hello.foo) it is the file's own name
// ("hello.py"), and KUBELESS_FUNCTION_PATH says where it goes.
func codeFileName(p parsed, entry langruntime.Entry) string {
	if entry.Runtime == nil {
		return p.handler.File()
	}
	return entry.Runtime.FileName(p.handler.File(), p.ct)
}
