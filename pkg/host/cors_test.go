package host

import (
	"context"
	"net/http"
	"testing"
)

// With KUBELESS_CORS=off (what the local engine sets) neither answers, the
// host's own errors nor preflights carry Access-Control-* headers.
func TestCORSOff(t *testing.T) {
	inv := &fakeInvoker{concurrency: 1, fn: func(ctx context.Context, c *Call) error {
		if c.Request.URL.Path == "/fail" {
			return &FunctionError{Message: "boom"}
		}
		c.Writer.Write([]byte("fine"))
		return nil
	}}
	_, _, _, ts := newTestServer(t, testConfig("KUBELESS_CORS=off"), inv)
	for _, path := range []string{"/ok", "/fail"} {
		if _, _, hdr := get(t, ts.URL+path, "Origin", "https://evil.example"); hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", path, hdr.Get("Access-Control-Allow-Origin"))
		}
	}
	req, _ := http.NewRequest("OPTIONS", ts.URL+"/", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "DELETE")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k := range resp.Header {
		if len(k) > 15 && k[:15] == "Access-Control-" {
			t.Errorf("preflight answered %s: %q", k, resp.Header.Get(k))
		}
	}
}
