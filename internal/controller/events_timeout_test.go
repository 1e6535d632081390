package controller

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/pkg/contract"
)

// An event call is bounded by the function's timeout plus a grace.
func TestEventCallTimeoutOfFunction(t *testing.T) {
	for _, tt := range []struct {
		timeout string
		want    time.Duration
	}{
		{"7", 7*time.Second + eventCallGrace},
		{"", contract.DefaultTimeoutSeconds*time.Second + eventCallGrace},
		{"soon", contract.DefaultTimeoutSeconds*time.Second + eventCallGrace},
	} {
		fn := &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: v1beta1.FunctionSpec{Timeout: tt.timeout}}
		if got := targetOf(fn, "http://f.default:8080").timeout; got != tt.want {
			t.Errorf("timeout %q: call bound %s, want %s", tt.timeout, got, tt.want)
		}
	}
	a := targetOf(&v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: v1beta1.FunctionSpec{Timeout: "7"}}, "u")
	b := targetOf(&v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "f"}, Spec: v1beta1.FunctionSpec{Timeout: "8"}}, "u")
	tr := &v1beta1.KafkaTrigger{}
	if consumerConfig(tr, "k:9092", a) == consumerConfig(tr, "k:9092", b) {
		t.Error("a changed function timeout does not restart its consumer")
	}
}

// A function that never answers: each call fails with a timeout of its own
// (not the consumer's context), is counted as failed and retried, and the
// message is then given up.
func TestEventCallsToAHungFunctionTimeOut(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-release // never answers while the test runs
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	c, err := newEventConsumers(EventOptions{}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	metrics := events.NewMetrics(nil)
	labels := events.Labels{Kind: "KafkaTrigger", Namespace: "default", Trigger: "k", Function: "hung"}
	invoke := c.invoker(srv.URL, 100*time.Millisecond)
	var errs []error
	retries := int32(1)
	d := &events.Deliverer{
		Function: "hung", Delivery: v1beta1.EventDelivery{MaxRetries: &retries},
		Invoke: func(ctx context.Context, fn string, h http.Header, body []byte) (int, error) {
			st, err := invoke(ctx, fn, h, body)
			errs = append(errs, err)
			return st, err
		},
		Metrics: metrics, Labels: labels,
		Wait: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	// The consumer's context never ends: only the call's own bound can.
	done := make(chan error, 1)
	go func() {
		done <- d.Deliver(context.Background(), events.Message{ID: "t/0/1", Topic: "t", Data: []byte("x")})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Deliver = %v, want nil (the message given up after its retries)", err)
		}
	case <-time.After(30 * time.Second): // a failure bound only
		t.Fatal("the calls to a function that never answers did not return: they have no timeout")
	}
	if calls := len(arrived); calls != 2 || len(errs) != 2 {
		t.Fatalf("%d calls reached the function, %d returned; want 2 (1 + maxRetries 1)", len(arrived), len(errs))
	}
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call %d: err = %v, want a timeout (context.DeadlineExceeded)", i, err)
		}
	}
	for name, tt := range map[string]struct {
		got  float64
		want float64
	}{
		"failed":        {testutil.ToFloat64(metrics.Failed.WithLabelValues("KafkaTrigger", "default", "k", "hung")), 2},
		"retried":       {testutil.ToFloat64(metrics.Retried.WithLabelValues("KafkaTrigger", "default", "k", "hung")), 1},
		"dead-lettered": {testutil.ToFloat64(metrics.DeadLettered.WithLabelValues("KafkaTrigger", "default", "k", "hung")), 1},
		"delivered":     {testutil.ToFloat64(metrics.Delivered.WithLabelValues("KafkaTrigger", "default", "k", "hung")), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", name, tt.got, tt.want)
		}
	}
}
