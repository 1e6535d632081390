package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x01\n\t\r\x1f", "héllo 日本 🚀", "bad\xff\xfeutf8", "\u2028"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, appendJSONString(nil, s), err)
			continue
		}
		var want string // what encoding/json makes of it
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &want)
		if got != want {
			t.Errorf("round trip of %q = %q, want %q", s, got, want)
		}
	}
}

func TestInvokeFrameRoundTrip(t *testing.T) {
	r := httptest.NewRequest("POST", "/a/b?x=1&y=%22", strings.NewReader(""))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two\"")
	call := &Call{Request: r, Body: []byte(`{"k":1}`), JSON: true,
		Event: Event{ID: "id", Type: "application/json", Time: "2026-01-01T00:00:00Z", Namespace: "cli.kubeless.io"}}
	b := appendInvokeFrame(nil, 7, call)
	f, err := readFrame(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.typ != frameInvoke || f.id != 7 {
		t.Fatalf("frame %c %d", f.typ, f.id)
	}
	head, body, err := splitHead(f.payload)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Method, Path, Query, Remote string
		JSON                        bool
		Event                       Event
		Headers                     [][2]string
	}
	if err := json.Unmarshal(head, &got); err != nil {
		t.Fatalf("head %s: %v", head, err)
	}
	if string(body) != `{"k":1}` {
		t.Errorf("body %q", body)
	}
	if d := cmp.Diff([]any{"POST", "/a/b", `x=1&y=%22`, true, call.Event}, []any{got.Method, got.Path, got.Query, got.JSON, got.Event}); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	var multi []string
	for _, kv := range got.Headers {
		if kv[0] == "X-Multi" {
			multi = append(multi, kv[1])
		}
	}
	if d := cmp.Diff([]string{"one", `two"`}, multi); d != "" {
		t.Errorf("headers (-want +got)\n%s", d)
	}
}
