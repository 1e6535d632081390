package events

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// ConsumerState is what the consumer of one (trigger, function) pair last
// reported through its State callback.
type ConsumerState struct {
	// Function is the function the consumer delivers to.
	Function string
	// Reported is false until the consumer reported a state.
	Reported bool
	// Err is its last state: nil once it consumes.
	Err error
}

// ReadyCondition is trigger t's Ready condition, on both engines, from the
// states of its consumers (one per function it selects). source, when not
// empty, names where the trigger reads (the brokers, the NATS URL, the
// Kinesis endpoint) in the messages.
//
//   - no consumer: False, FunctionNotFound (t names its function) or
//     NoFunctionSelected (its selector matches none);
//   - a consumer that failed: False, BrokerUnreachable with its error (the
//     first function's, by name);
//   - a consumer that has not reported yet: Unknown, Reconciling;
//   - else True, Ready: "delivers <topic> [from <source>] to <functions>".
func ReadyCondition(t v1beta1.EventTrigger, source string, states []ConsumerState) metav1.Condition {
	states = append([]ConsumerState(nil), states...)
	sort.Slice(states, func(i, j int) bool { return states[i].Function < states[j].Function })
	var names, waiting []string
	var failure error
	for _, s := range states {
		names = append(names, s.Function)
		switch {
		case !s.Reported:
			waiting = append(waiting, s.Function)
		case s.Err != nil && failure == nil:
			failure = s.Err
		}
	}
	cond := func(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: v1beta1.ConditionReady, Status: status, Reason: reason, Message: msg}
	}
	from := ""
	if source != "" {
		from = " from " + source
	}
	switch {
	case len(names) == 0:
		if fn := t.TargetFunction(); fn != "" {
			return cond(metav1.ConditionFalse, v1beta1.ReasonFunctionNotFound, fmt.Sprintf(
				"function %q does not exist in namespace %s: deploy it (kubeless function deploy %s -n %s) or fix the trigger's function name",
				fn, t.GetNamespace(), fn, t.GetNamespace()))
		}
		sel, _ := metav1.LabelSelectorAsSelector(t.Selector())
		return cond(metav1.ConditionFalse, v1beta1.ReasonNoFunctionSelected, fmt.Sprintf(
			"no function of namespace %s has the labels %s: deploy one with --label, or fix the trigger's function selector", t.GetNamespace(), sel))
	case failure != nil:
		return cond(metav1.ConditionFalse, v1beta1.ReasonBrokerUnreachable, failure.Error())
	case len(waiting) > 0:
		to := source
		if to == "" {
			to = "the broker"
		}
		return cond(metav1.ConditionUnknown, v1beta1.ReasonReconciling, fmt.Sprintf("connecting to %s for %s", to, strings.Join(waiting, ", ")))
	}
	return cond(metav1.ConditionTrue, v1beta1.ReasonReady, fmt.Sprintf("delivers %s%s to %s", t.Source(), from, strings.Join(names, ", ")))
}
