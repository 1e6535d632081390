package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HTTPTrigger exposes a Function outside the cluster through an Ingress named
// like the trigger (docs/compatibility.md §1.3).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=kubeless
// +kubebuilder:printcolumn:name="Function",type=string,JSONPath=`.spec.function-name`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host-name`
// +kubebuilder:printcolumn:name="Path",type=string,JSONPath=`.spec.path`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HTTPTrigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the user asked for.
	Spec HTTPTriggerSpec `json:"spec"`

	// status is what the controller observed.
	// +optional
	Status TriggerStatus `json:"status,omitzero"`
}

// HTTPTriggerSpec is the desired state of an HTTPTrigger. Like the original's,
// no field is omitted when empty.
type HTTPTriggerSpec struct {
	// function-name is the Function, in the trigger's namespace, that
	// requests go to.
	// +kubebuilder:validation:MinLength=1
	FunctionName string `json:"function-name"`

	// host-name is the Ingress rule's host.
	// +optional
	HostName string `json:"host-name"`

	// tls asks for a certificate from ACME (annotation
	// kubernetes.io/tls-acme), kept in the Secret "<trigger>-tls". It cannot
	// be combined with tls-secret.
	// +optional
	TLSAcme bool `json:"tls"`

	// tls-secret is an existing TLS Secret for host-name.
	// +optional
	TLSSecret string `json:"tls-secret"`

	// path is the URL path, without its leading "/", that routes to the
	// function.
	// +optional
	Path string `json:"path"`

	// basic-auth-secret is a Secret holding an htpasswd "auth" key; requests
	// then need HTTP basic authentication (nginx and traefik gateways).
	// +optional
	BasicAuthSecret string `json:"basic-auth-secret"`

	// gateway is the Ingress controller: nginx (the default when empty),
	// traefik or kong.
	// +optional
	// +kubebuilder:validation:Enum="";nginx;traefik;kong
	Gateway string `json:"gateway"`

	// cors-enable turns CORS on in the Ingress (nginx annotations).
	// +optional
	CorsEnable bool `json:"cors-enable"`

	// cors-domain is the origin allowed when cors-enable is set; empty means
	// any.
	// +optional
	CorsDomain string `json:"cors-domain"`
}

// TriggerStatus is what a trigger controller last observed of an HTTPTrigger
// or a CronJobTrigger.
type TriggerStatus struct {
	// observedGeneration is the metadata.generation the controller last
	// reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions say whether the trigger's object (Ingress or CronJob) is in
	// place and, when it is not, why (for example FunctionNotFound).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// HTTPTriggerList is a list of HTTPTriggers.
//
// +kubebuilder:object:root=true
type HTTPTriggerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HTTPTrigger `json:"items"`
}

// HTTPTriggerKind describes the HTTPTrigger kind.
var HTTPTriggerKind = &TriggerKind{
	Kind: "HTTPTrigger", Resource: "httptriggers", What: "HTTP trigger", Command: "http",
	New:     func() Trigger { return &HTTPTrigger{} },
	NewList: func() TriggerList { return &HTTPTriggerList{} },
}

func init() { registerTrigger(HTTPTriggerKind) }

// TriggerKind implements Trigger.
func (t *HTTPTrigger) TriggerKind() *TriggerKind { return HTTPTriggerKind }

// TargetFunction implements Trigger.
func (t *HTTPTrigger) TargetFunction() string { return t.Spec.FunctionName }

// TriggerStatus implements Trigger.
func (t *HTTPTrigger) TriggerStatus() *TriggerStatus { return &t.Status }

// ValidateSpec implements Trigger: an HTTP trigger's spec has nothing the
// API server would not take.
func (t *HTTPTrigger) ValidateSpec() error { return nil }

// MergeSpec implements Trigger: cors-enable and tls only turn on; tls (ACME)
// and tls-secret replace each other. (The original's update always set tls
// from its flag, so an update without --enableTLSAcme turned ACME off.)
func (t *HTTPTrigger) MergeSpec(patch Trigger) Trigger {
	out := t.DeepCopy()
	p := patch.(*HTTPTrigger).Spec
	for dst, src := range map[*string]string{
		&out.Spec.FunctionName: p.FunctionName, &out.Spec.HostName: p.HostName, &out.Spec.Path: p.Path,
		&out.Spec.BasicAuthSecret: p.BasicAuthSecret, &out.Spec.TLSSecret: p.TLSSecret, &out.Spec.Gateway: p.Gateway,
		&out.Spec.CorsDomain: p.CorsDomain,
	} {
		if src != "" {
			*dst = src
		}
	}
	out.Spec.CorsEnable = out.Spec.CorsEnable || p.CorsEnable
	switch {
	case p.TLSAcme:
		out.Spec.TLSAcme, out.Spec.TLSSecret = true, p.TLSSecret
	case p.TLSSecret != "":
		out.Spec.TLSAcme = false
	}
	return out
}

// Triggers implements TriggerList.
func (l *HTTPTriggerList) Triggers() []Trigger {
	out := make([]Trigger, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out
}
