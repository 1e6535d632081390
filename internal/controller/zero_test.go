package controller

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestObserveCountsCallsInFlightAsActivity(t *testing.T) {
	var calls, done int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "function_calls_total{method=\"GET\"} %d\nfunction_duration_seconds_count{method=\"GET\"} %d\n", calls, done)
	}))
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	z := newZero(nil, ZeroOptions{})
	key := types.NamespacedName{Namespace: "ns", Name: "fn"}
	observe := func() bool { return z.observe(context.Background(), key, []string{host}, int32(port)) > 0 }

	calls, done = 2, 1
	for i := range 3 {
		if observe() {
			t.Fatalf("read %d: idle while a call is in flight", i)
		}
	}
	done = 2
	if observe() {
		t.Fatal("idle on the read that saw the call end")
	}
	// Unchanged since the last read: idle for the time between them (more
	// than zero, however short).
	if !observe() {
		t.Error("not idle on an unchanged read")
	}
	calls = 3
	if observe() {
		t.Error("idle on a read that saw a new call")
	}
	srv.Close()
	if observe() {
		t.Error("idle when the pod's metrics cannot be read")
	}
}
