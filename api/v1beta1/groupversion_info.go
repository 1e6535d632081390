// Package v1beta1 is the kubeless.io/v1beta1 API: Function, HTTPTrigger and
// CronJobTrigger.
//
// The JSON keys are those of the original Kubeless API (docs/compatibility.md
// §1), hyphens included ("function-content-type", "function-name",
// "host-name"), so that manifests written for the original, and by its CLI or
// the Serverless Framework plugin, apply unchanged.
//
// The CRDs in config/crd/bases and zz_generated.deepcopy.go are generated from
// the markers in this package by hack/update-codegen.sh; a test fails when they
// are stale. This package imports only k8s.io/apimachinery and k8s.io/api.
//
// +kubebuilder:object:generate=true
// +groupName=kubeless.io
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of every Kubeless resource.
const GroupName = "kubeless.io"

var (
	// GroupVersion is kubeless.io/v1beta1.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1beta1"}

	// SchemeBuilder registers this package's types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds Function, HTTPTrigger and CronJobTrigger (and their
	// lists) to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource returns the kubeless.io GroupResource of a resource name such as
// "functions".
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Function{}, &FunctionList{},
		&HTTPTrigger{}, &HTTPTriggerList{},
		&CronJobTrigger{}, &CronJobTriggerList{},
		&KafkaTrigger{}, &KafkaTriggerList{},
		&NATSTrigger{}, &NATSTriggerList{},
		&KinesisTrigger{}, &KinesisTriggerList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
