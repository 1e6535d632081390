package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/kubetest"
)

var env *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--image-pull-policy=Sometimes"}, `--image-pull-policy: image pull policy "Sometimes" is not one of Always, IfNotPresent, Never`},
		{[]string{"--runtime-image=python3.11"}, "want RUNTIME=IMAGE"},
		{[]string{"--idle-window=0"}, `invalid --idle-window "0": use a positive duration such as 90s or 5m`},
	} {
		err := run(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%v) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func TestBadKafkaEnvironment(t *testing.T) {
	t.Setenv("KAFKA_ENABLE_SASL", "true")
	t.Setenv("KAFKA_USERNAME", "")
	err := run(nil)
	if err == nil || !strings.Contains(err.Error(), "KAFKA_ENABLE_SASL") || !strings.Contains(err.Error(), "the user is empty") {
		t.Errorf("run with SASL and no user = %v, want an error naming the variables", err)
	}
}

// TestRunReconcilesAndStops runs the controller as its binary does (flags,
// kubeconfig, kubeless-config with functions-namespace, leader election),
// checks that it reconciles the Functions of that namespace only, and that
// SIGTERM stops it cleanly and releases its leader-election Lease.
func TestRunReconcilesAndStops(t *testing.T) {
	env.Require(t)
	ctx := context.Background()
	watched, other := env.Namespace(t), env.Namespace(t)
	cfgNS := env.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: cfgNS, Name: "kubeless-config"},
		Data: map[string]string{"functions-namespace": watched, "enable-build-step": "true"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, env.KubeConfig(), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"--kubeconfig", kc, "--config-namespace", cfgNS, "--metrics-bind-address=0",
			"--health-probe-bind-address=127.0.0.1:0", "--leader-elect", "--runtime-image", "python3.11=localhost/python:test", "--image-pull-policy=Never"})
	}()
	for _, ns := range []string{watched, other} {
		fn := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello"},
			Spec: v1beta1.FunctionSpec{Runtime: "python3.11", Handler: "hello.foo", Function: "def foo(e, c):\n    return 1\n"}}
		if err := env.Client.Create(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var d appsv1.Deployment
	kubetest.Eventually(t, 30*time.Second, func() error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: watched, Name: "hello"}, &d)
	})
	// It reconciles only as the leader: it holds the Lease.
	lease := &coordinationv1.Lease{}
	leaseKey := client.ObjectKey{Namespace: cfgNS, Name: "kubeless-controller.kubeless.io"}
	if err := env.Client.Get(ctx, leaseKey, lease); err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("leader-election Lease %s while reconciling: %+v, %v; want a holder", leaseKey, lease.Spec, err)
	}
	if c := d.Spec.Template.Spec.Containers[0]; c.Image != "localhost/python:test" || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("function container image %q policy %q, want the flags'", c.Image, c.ImagePullPolicy)
	}
	time.Sleep(time.Second)
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: other, Name: "hello"}, &appsv1.Deployment{}); err == nil {
		t.Errorf("a function outside functions-namespace was reconciled")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the controller did not stop on SIGTERM")
	}
	// Stopped, it released the Lease: another replica need not wait for
	// it to expire.
	if err := env.Client.Get(ctx, leaseKey, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the stopped controller still holds the Lease: holderIdentity %q", *h)
	}
}
