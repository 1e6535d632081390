package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// Calls keep being answered while a function is updated: the new
// generation is ready before the routes move to it, and the old one drains.
// Load runs through three updates, with one and with two replicas, and no
// call may get anything but 200.
func TestRollingUpdateLosesNoCall(t *testing.T) {
	for _, replicas := range []int32{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			e, _ := newTestEngine(t, t.TempDir())
			ctx := context.Background()
			fn := testFunction("roll", "v0")
			d := &appsv1.Deployment{}
			d.Spec.Replicas = &replicas
			if err := fn.Spec.SetDeploymentTemplate(d); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Deploy(ctx, fn); err != nil {
				t.Fatal(err)
			}
			waitReason(t, e, "roll", reasonReady)

			var ok, failed atomic.Int64
			var mu sync.Mutex
			var failures []string
			stop := make(chan struct{})
			var wg sync.WaitGroup
			hc := &http.Client{Timeout: 10 * time.Second}
			url := "http://" + e.GatewayAddr() + "/roll"
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100000; i++ {
						select {
						case <-stop:
							return
						default:
						}
						method := "GET"
						var body io.Reader
						if (i+w)%2 == 1 {
							method, body = "POST", strings.NewReader("payload")
						}
						req, _ := http.NewRequest(method, url, body)
						resp, err := hc.Do(req)
						if err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						if err != nil || resp.StatusCode != 200 {
							failed.Add(1)
							mu.Lock()
							if len(failures) < 5 {
								if err != nil {
									failures = append(failures, err.Error())
								} else {
									failures = append(failures, resp.Status)
								}
							}
							mu.Unlock()
							continue
						}
						ok.Add(1)
					}
				}()
			}
			for v := 1; v <= 3; v++ {
				if _, err := e.Update(ctx, testFunction("roll", fmt.Sprintf("v%d", v))); err != nil {
					t.Fatal(err)
				}
				waitReason(t, e, "roll", reasonReady)
			}
			// Until the replaced generations are gone, so that their drain is
			// under load too.
			deadline := time.Now().Add(15 * time.Second)
			for oldInstancesRunning(e, "default/roll/") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			if oldInstancesRunning(e, "default/roll/") {
				t.Errorf("instances of replaced generations still run: %+v", e.sup.List())
			}
			if code, body := call(t, e, "/roll", "x"); code != 200 || !strings.HasPrefix(body, "v3|") {
				t.Errorf("after the updates: %d %q", code, body)
			}
			if failed.Load() != 0 || ok.Load() < 20 {
				t.Errorf("calls through 3 updates: %d answered 200, %d failed (first: %q)", ok.Load(), failed.Load(), failures)
			}
			t.Logf("calls through 3 updates: %d answered 200, %d failed", ok.Load(), failed.Load())
		})
	}
}

// oldInstancesRunning reports whether an instance of a generation other than
// the function's current one is running.
func oldInstancesRunning(e *Engine, prefix string) bool {
	e.mu.Lock()
	st := e.fns[strings.TrimSuffix(prefix, "/")]
	gen := st.fn.Generation
	e.mu.Unlock()
	for _, s := range e.sup.List() {
		if strings.HasPrefix(s.Name, prefix) && !strings.HasPrefix(s.Name, fmt.Sprintf("%s%d.", prefix, gen)) && s.State == "running" {
			return true
		}
	}
	return false
}
