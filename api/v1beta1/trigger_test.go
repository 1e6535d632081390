package v1beta1_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeless/kubeless/api/v1beta1"
)

func TestMergeTriggers(t *testing.T) {
	old := &v1beta1.HTTPTrigger{Spec: v1beta1.HTTPTriggerSpec{FunctionName: "f", HostName: "h", Path: "p", Gateway: "nginx", CorsEnable: true, TLSAcme: true}}
	got := old.MergeSpec(&v1beta1.HTTPTrigger{Spec: v1beta1.HTTPTriggerSpec{Path: "q", BasicAuthSecret: "auth"}}).(*v1beta1.HTTPTrigger)
	want := v1beta1.HTTPTriggerSpec{FunctionName: "f", HostName: "h", Path: "q", Gateway: "nginx", BasicAuthSecret: "auth", CorsEnable: true, TLSAcme: true}
	if d := cmp.Diff(want, got.Spec); d != "" {
		t.Errorf("http (-want +got):\n%s", d)
	}
	// tls-secret replaces ACME, and ACME replaces tls-secret.
	got = got.MergeSpec(&v1beta1.HTTPTrigger{Spec: v1beta1.HTTPTriggerSpec{TLSSecret: "cert"}}).(*v1beta1.HTTPTrigger)
	if !(got.Spec.TLSSecret == "cert" && !got.Spec.TLSAcme) {
		t.Errorf("after tls-secret: tls %v, tls-secret %q", got.Spec.TLSAcme, got.Spec.TLSSecret)
	}
	got = got.MergeSpec(&v1beta1.HTTPTrigger{Spec: v1beta1.HTTPTriggerSpec{TLSAcme: true}}).(*v1beta1.HTTPTrigger)
	if !(got.Spec.TLSSecret == "" && got.Spec.TLSAcme) {
		t.Errorf("after tls: tls %v, tls-secret %q", got.Spec.TLSAcme, got.Spec.TLSSecret)
	}
	if old.Spec.Path != "p" {
		t.Error("old was modified")
	}

	cold := &v1beta1.CronJobTrigger{Spec: v1beta1.CronJobTriggerSpec{FunctionName: "f", Schedule: "* * * * *", Payload: &runtime.RawExtension{Raw: []byte(`1`)}}}
	for _, tt := range []struct {
		patch v1beta1.CronJobTriggerSpec
		want  v1beta1.CronJobTriggerSpec
	}{
		{v1beta1.CronJobTriggerSpec{}, cold.Spec},
		{v1beta1.CronJobTriggerSpec{Schedule: "@hourly", FunctionName: "g", Payload: &runtime.RawExtension{Raw: []byte(`2`)}},
			v1beta1.CronJobTriggerSpec{Schedule: "@hourly", FunctionName: "g", Payload: &runtime.RawExtension{Raw: []byte(`2`)}}},
	} {
		got := cold.MergeSpec(&v1beta1.CronJobTrigger{Spec: tt.patch}).(*v1beta1.CronJobTrigger)
		if d := cmp.Diff(tt.want, got.Spec); d != "" {
			t.Errorf("cron (-want +got):\n%s", d)
		}
	}
}

func TestTriggerKinds(t *testing.T) {
	var got []string
	for _, k := range v1beta1.TriggerKinds() {
		obj := k.New()
		if obj.TriggerKind() != k {
			t.Errorf("%s: New().TriggerKind() is %s", k.Kind, obj.TriggerKind().Kind)
		}
		got = append(got, k.Kind+" "+k.Resource+" "+k.Command)
	}
	want := []string{"CronJobTrigger cronjobtriggers cronjob", "HTTPTrigger httptriggers http",
		"KafkaTrigger kafkatriggers kafka", "NATSTrigger natstriggers nats", "KinesisTrigger kinesistriggers kinesis"}
	if d := cmp.Diff(want, got, cmpSorted); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
}

func TestCronJobTriggerValidateSpec(t *testing.T) {
	for _, tt := range []struct {
		spec    v1beta1.CronJobTriggerSpec
		wantErr string
	}{
		{v1beta1.CronJobTriggerSpec{Schedule: "* * * * *"}, ""},
		{v1beta1.CronJobTriggerSpec{}, `cron trigger "c" has no schedule: give one with --schedule, for example --schedule '*/5 * * * *'`},
		{v1beta1.CronJobTriggerSpec{Schedule: "@hourly", Payload: &runtime.RawExtension{Raw: []byte(`{`)}}, `cron trigger "c": the payload is not valid JSON`},
	} {
		ct := &v1beta1.CronJobTrigger{Spec: tt.spec}
		ct.Name = "c"
		err := ct.ValidateSpec()
		if got := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && got != tt.wantErr) {
			t.Errorf("ValidateSpec(%+v) = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
