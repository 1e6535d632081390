package function

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func readyCondition(fn *v1beta1.Function) *metav1.Condition {
	return meta.FindStatusCondition(fn.Status.Conditions, v1beta1.ConditionReady)
}
