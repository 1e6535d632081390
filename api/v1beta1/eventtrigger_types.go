package v1beta1

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Event triggers (KafkaTrigger, NATSTrigger, KinesisTrigger) call functions
// with the messages of a topic, subject or stream: each message is one
// POST of its payload to each function the trigger selects, with the
// event-* headers of the original Kubeless (docs/events.md).

// EventDelivery is how an event trigger delivers its messages. Every field
// is optional; the zero value is at-least-once delivery in order, with
// retries and no dead-letter target.
type EventDelivery struct {
	// deadLetterTopic is where a message goes after its last failed call:
	// a Kafka topic, a NATS subject or a Kinesis stream, on the trigger's
	// broker. Empty: the message is logged and counted as dead-lettered.
	// +optional
	DeadLetterTopic string `json:"deadLetterTopic,omitempty"`

	// maxRetries is how many times a failed call (an error, a timeout or an
	// answer other than 2xx) is repeated before the message is
	// dead-lettered. Default 5; 0 means no retry.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxRetries *int32 `json:"maxRetries,omitempty"`

	// retryBackoff is the wait before the first retry, doubled for each
	// next one up to 30s, for example "200ms" or "2s". Default 500ms.
	// +optional
	RetryBackoff string `json:"retryBackoff,omitempty"`

	// atMostOnce commits a message (Kafka offset, Kinesis sequence number)
	// before calling the function, as the original Kubeless did: a call
	// that fails is not retried and a consumer that stops loses the
	// messages in flight. Default false: at least once, committed only
	// after the function answered 2xx or the message was dead-lettered.
	// +optional
	AtMostOnce bool `json:"atMostOnce,omitempty"`

	// parallelism is how many messages of one partition (Kafka), subject
	// (NATS) or shard (Kinesis) may be in calls at once. Default 1: in
	// order, each message after the previous one's delivery.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Parallelism int32 `json:"parallelism,omitempty"`

	// maxInFlight bounds the calls of the trigger that run at once, over
	// all its partitions and functions. Default 64.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxInFlight int32 `json:"maxInFlight,omitempty"`
}

// Defaults of EventDelivery.
const (
	DefaultMaxRetries   = 5
	DefaultRetryBackoff = 500 * time.Millisecond
	DefaultParallelism  = 1
	DefaultMaxInFlight  = 64
)

// Retries returns maxRetries or its default.
func (d EventDelivery) Retries() int {
	if d.MaxRetries == nil {
		return DefaultMaxRetries
	}
	return int(*d.MaxRetries)
}

// Backoff returns retryBackoff or its default (the value is checked by
// Validate).
func (d EventDelivery) Backoff() time.Duration {
	if v, err := time.ParseDuration(d.RetryBackoff); err == nil && v > 0 {
		return v
	}
	return DefaultRetryBackoff
}

// PerPartition returns parallelism or its default.
func (d EventDelivery) PerPartition() int {
	if d.Parallelism <= 0 {
		return DefaultParallelism
	}
	return int(d.Parallelism)
}

// InFlight returns maxInFlight or its default.
func (d EventDelivery) InFlight() int {
	if d.MaxInFlight <= 0 {
		return DefaultMaxInFlight
	}
	return int(d.MaxInFlight)
}

// Validate checks the delivery fields of the trigger named what.
func (d EventDelivery) Validate(what string) error {
	if d.MaxRetries != nil && (*d.MaxRetries < 0 || *d.MaxRetries > 1000) {
		return fmt.Errorf("%s: maxRetries %d is out of range: give 0 to 1000", what, *d.MaxRetries)
	}
	if d.RetryBackoff != "" {
		v, err := time.ParseDuration(d.RetryBackoff)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s: retryBackoff %q is not a positive duration: give one such as 200ms or 2s", what, d.RetryBackoff)
		}
	}
	if d.Parallelism < 0 || d.Parallelism > 1000 {
		return fmt.Errorf("%s: parallelism %d is out of range: give 1 to 1000", what, d.Parallelism)
	}
	if d.MaxInFlight < 0 || d.MaxInFlight > 10000 {
		return fmt.Errorf("%s: maxInFlight %d is out of range: give 1 to 10000", what, d.MaxInFlight)
	}
	return nil
}

// merge sets the non-empty fields of p in d.
func (d *EventDelivery) merge(p EventDelivery) {
	if p.DeadLetterTopic != "" {
		d.DeadLetterTopic = p.DeadLetterTopic
	}
	if p.MaxRetries != nil {
		v := *p.MaxRetries
		d.MaxRetries = &v
	}
	if p.RetryBackoff != "" {
		d.RetryBackoff = p.RetryBackoff
	}
	if p.AtMostOnce {
		d.AtMostOnce = true
	}
	if p.Parallelism != 0 {
		d.Parallelism = p.Parallelism
	}
	if p.MaxInFlight != 0 {
		d.MaxInFlight = p.MaxInFlight
	}
}

// EventTrigger is a trigger that calls functions with the messages of a
// broker: a KafkaTrigger, a NATSTrigger or a KinesisTrigger.
//
// +kubebuilder:object:generate=false
type EventTrigger interface {
	Trigger
	// Source is the topic, subject or stream the trigger reads.
	Source() string
	// Selector is the trigger's functionSelector, nil when it has none
	// (it names its function with function-name).
	Selector() *metav1.LabelSelector
	// DeliverySpec is how the trigger delivers.
	DeliverySpec() EventDelivery
	// EventNamespace is the value of the event-namespace header of its
	// calls, for example "kafkatriggers.kubeless.io".
	EventNamespace() string
}

// Selects reports whether the event trigger t calls the function fn (of
// t's namespace): by name, or by its labels matching functionSelector.
func Selects(t EventTrigger, fn *Function) bool {
	if fn.Namespace != t.GetNamespace() {
		return false
	}
	if name := t.TargetFunction(); name != "" {
		return fn.Name == name
	}
	ls := t.Selector()
	if ls == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || sel.Empty() {
		// An empty selector would select every function of the
		// namespace: ValidateSpec refuses it.
		return false
	}
	return sel.Matches(labels.Set(fn.Labels))
}

// validateTarget checks that an event trigger names one function or has a
// valid, non-empty selector, but not both.
func validateTarget(what, name, function string, ls metav1.LabelSelector, flag string) error {
	empty := emptySelector(ls)
	switch {
	case function == "" && empty:
		return fmt.Errorf("%s %q selects no function: give %s (for example %s function=hello) or --function-name", what, name, flag, flag)
	case function != "" && !empty:
		return fmt.Errorf("%s %q has both a function-name and a functionSelector: give one of them", what, name)
	case !empty:
		if _, err := metav1.LabelSelectorAsSelector(&ls); err != nil {
			return fmt.Errorf("%s %q: invalid functionSelector: %v", what, name, err)
		}
	}
	return nil
}

func emptySelector(ls metav1.LabelSelector) bool {
	return len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0
}

// selectorOrNil returns &ls, or nil when ls selects nothing.
func selectorOrNil(ls *metav1.LabelSelector) *metav1.LabelSelector {
	if emptySelector(*ls) {
		return nil
	}
	return ls
}

// mergeTarget applies a patch's function-name or functionSelector: the
// one given replaces both old ones (a trigger has one or the other).
func mergeTarget(fn *string, ls *metav1.LabelSelector, pfn string, pls metav1.LabelSelector) {
	switch {
	case !emptySelector(pls):
		*fn, *ls = "", *pls.DeepCopy()
	case pfn != "":
		*fn, *ls = pfn, metav1.LabelSelector{}
	}
}
