package v1beta1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of Function, HTTPTrigger and CronJobTrigger status.
const (
	// ConditionReady is True when everything the object asks for is in place
	// and serving: for a Function, its Deployment has all its pods ready; for
	// a trigger, its Ingress or CronJob exists and points at an existing
	// Function. When it is False or Unknown, its reason is one of the Reason
	// constants below and its message says what to fix.
	ConditionReady = "Ready"
)

// Reasons of the Ready condition. The controller may add others; these are the
// ones that clients (kubeless function ls/describe) and tests rely on.
const (
	// ReasonReady: everything is in place and all pods are ready.
	ReasonReady = "Ready"
	// ReasonReconciling: objects are being created or updated, or pods are
	// starting.
	ReasonReconciling = "Reconciling"

	// Bad input in the Function spec; nothing is retried until the spec
	// changes.

	// ReasonInvalidHandler: spec.handler is not "<module>.<function>".
	ReasonInvalidHandler = "InvalidHandler"
	// ReasonUnknownRuntime: spec.runtime is not in the runtime catalog.
	ReasonUnknownRuntime = "UnknownRuntime"
	// ReasonInvalidContentType: spec.function-content-type is not one of the
	// known encodings and archive kinds.
	ReasonInvalidContentType = "InvalidContentType"
	// ReasonInvalidChecksum: spec.checksum is not "sha256:<hex>", or does not
	// match the code.
	ReasonInvalidChecksum = "InvalidChecksum"
	// ReasonInvalidDeployment: spec.deployment does not decode as an apps/v1
	// Deployment, or the Deployment built from it is refused.
	ReasonInvalidDeployment = "InvalidDeployment"
	// ReasonInvalidAutoscaler: spec.horizontalPodAutoscaler does not decode,
	// or the HorizontalPodAutoscaler built from it is refused.
	ReasonInvalidAutoscaler = "InvalidAutoscaler"
	// ReasonTemplateRefused: spec.deployment asks for more than the
	// "restricted" Pod Security Standard allows (a privileged container,
	// host namespaces, a hostPath volume, added capabilities, a service
	// account ...) and kubeless-config's function-pod-allow does not allow
	// it; the message names what and the allow-list name. Nothing is
	// created or changed.
	ReasonTemplateRefused = "TemplateRefused"

	// ReasonInvalidConfig: the kubeless-config ConfigMap cannot be read;
	// the message names the key. Nothing changes until it is fixed.
	ReasonInvalidConfig = "InvalidConfig"
	// ReasonConflict: an object the function or trigger needs (named like
	// it) exists and was not made by Kubeless; it is left alone.
	ReasonConflict = "Conflict"

	// Pods that do not come up.

	// ReasonImageMissing: an image of the function's pods cannot be pulled.
	ReasonImageMissing = "ImageMissing"
	// ReasonInitContainerFailed: an init container (prepare, install,
	// compile) failed; the message carries its termination message.
	ReasonInitContainerFailed = "InitContainerFailed"
	// ReasonCrashLoop: the function container keeps exiting.
	ReasonCrashLoop = "CrashLoop"

	// Triggers.

	// ReasonFunctionNotFound: the trigger's function-name names no Function
	// in its namespace.
	ReasonFunctionNotFound = "FunctionNotFound"
	// ReasonInvalidTrigger: the trigger's spec cannot be honoured (for
	// example both tls and tls-secret, or basic auth with the kong gateway).
	ReasonInvalidTrigger = "InvalidTrigger"
	// ReasonNoFunctionSelected: an event trigger's functionSelector
	// matches no Function of its namespace (yet); it delivers once one
	// does.
	ReasonNoFunctionSelected = "NoFunctionSelected"
	// ReasonBrokerUnreachable: an event trigger's broker (Kafka, NATS,
	// Kinesis) cannot be reached; the consumer keeps trying and the
	// messages wait in the broker.
	ReasonBrokerUnreachable = "BrokerUnreachable"
	// ReasonUnsupported: this engine does not run the trigger's kind; the
	// message names the engine that does.
	ReasonUnsupported = "Unsupported"
)

// Reasons of the Ready condition that the local engine sets, besides
// ReasonReady and the bad-input ones above.
const (
	// ReasonBuilding: the function is being built (sources written, its
	// install and compile steps run).
	ReasonBuilding = "Building"
	// ReasonStarting: its instances are starting.
	ReasonStarting = "Starting"
	// ReasonBuildFailed: a build step failed; the message carries its
	// output's last lines.
	ReasonBuildFailed = "BuildFailed"
	// ReasonInstanceFailed: an instance exited or never answered its
	// health check.
	ReasonInstanceFailed = "InstanceFailed"
	// ReasonInstancesNotReady: some instances stopped answering their
	// health check.
	ReasonInstancesNotReady = "InstancesNotReady"
	// ReasonIdle: the function runs no instance because it was idle (its
	// autoscaler's minReplicas is 0); the Ready condition is True, since
	// the next call starts an instance and is answered.
	ReasonIdle = "Idle"
)

// badInputReasons are the reasons that say that the Function's spec (or the
// cluster's configuration) is wrong: nothing changes until it is fixed.
var badInputReasons = map[string]bool{
	ReasonInvalidHandler: true, ReasonUnknownRuntime: true, ReasonInvalidContentType: true,
	ReasonInvalidChecksum: true, ReasonInvalidDeployment: true, ReasonInvalidAutoscaler: true,
	ReasonInvalidConfig: true, ReasonConflict: true, ReasonInvalidTrigger: true, ReasonTemplateRefused: true,
}

// failureReasons are the reasons, besides the bad-input ones, that end a
// wait for the Ready condition: the function will not become ready
// without a change.
var failureReasons = map[string]bool{
	ReasonBuildFailed: true, ReasonInstanceFailed: true,
	ReasonInitContainerFailed: true, ReasonCrashLoop: true, ReasonImageMissing: true,
}

// IsBadInputReason reports whether a False Ready condition's reason says
// that the spec (or the cluster's configuration) is wrong.
func IsBadInputReason(reason string) bool { return badInputReasons[reason] }

// IsFailureReason reports whether a False Ready condition's reason means
// that the object will not become ready without a change: bad input, a
// failed build or init container, an instance that failed, a crash loop,
// a missing image.
func IsFailureReason(reason string) bool { return failureReasons[reason] || badInputReasons[reason] }

// Reasons of a cron trigger's LastRun condition (local engine).
const (
	// ReasonCallSucceeded: the last scheduled call got a 2xx answer.
	ReasonCallSucceeded = "CallSucceeded"
	// ReasonCallFailed: the last scheduled call failed or got another status.
	ReasonCallFailed = "CallFailed"
)

// A Function whose spec.runtime is a name of the original Kubeless catalog
// that runs on another version has a second condition.
const (
	// ConditionRuntimeSubstituted is True when spec.runtime (for example
	// python3.7) runs on the nearest version of its language in the
	// catalog; its message says which: "python3.7 runs on python3.9". The
	// condition is absent otherwise.
	ConditionRuntimeSubstituted = "RuntimeSubstituted"
	// ReasonNearestVersion is the reason of ConditionRuntimeSubstituted.
	ReasonNearestVersion = "NearestVersion"
)

// SetRuntimeSubstitution sets the RuntimeSubstituted condition of the
// status to note ("python3.7 runs on python3.9") for generation, or removes
// it when note is "".
func (s *FunctionStatus) SetRuntimeSubstitution(note string, generation int64) {
	if note == "" {
		meta.RemoveStatusCondition(&s.Conditions, ConditionRuntimeSubstituted)
		return
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: ConditionRuntimeSubstituted, Status: metav1.ConditionTrue,
		Reason: ReasonNearestVersion, Message: note, ObservedGeneration: generation,
	})
}
