package cron

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{15}$`)

func TestNewRequest(t *testing.T) {
	fired := time.Date(2024, 3, 1, 11, 0, 0, 0, time.FixedZone("+01", 3600))
	events := map[string]string{
		"event-time":      "2024-03-01T10:00:00Z",
		"event-type":      "application/json",
		"event-namespace": "cronjobtrigger.kubeless.io",
	}
	withJSON := map[string]string{"Content-Type": "application/json"}
	for k, v := range events {
		withJSON[k] = v
	}
	tests := []struct {
		name    string
		payload []byte
		want    Request
		wantErr string
	}{
		{name: "no payload", want: Request{Method: "GET", Header: events}},
		{name: "empty payload", payload: []byte{}, want: Request{Method: "GET", Header: events}},
		{name: "object payload", payload: []byte(`{"msg": "hi"}`),
			want: Request{Method: "POST", Header: withJSON, Body: []byte(`{"msg": "hi"}`)}},
		{name: "array payload", payload: []byte(`[1,2]`),
			want: Request{Method: "POST", Header: withJSON, Body: []byte(`[1,2]`)}},
		{name: "invalid payload", payload: []byte(`{"msg":`), wantErr: "cron trigger payload is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRequest(tt.payload, fired)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("NewRequest error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id := got.Header["event-id"]
			if !eventIDPattern.MatchString(id) {
				t.Errorf("event-id %q is not 15 base64url characters", id)
			}
			delete(got.Header, "event-id")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequestPerTick checks the original's bug is gone: every tick sends its
// own event-time and event-id, not values fixed when the trigger was made.
func TestRequestPerTick(t *testing.T) {
	s, clock := newTestScheduler(t, utc(10, 0, 30), nil, nil)
	var mu sync.Mutex
	var got []Request
	s.Set("trigger", "* * * * *", func(_ context.Context, tick time.Time) {
		r, err := NewRequest(nil, tick)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	})
	for range 2 {
		clock.waitTimers(t, 1)
		waitIdle(t, s) // else the scheduler rightly skips the next tick
		clock.Advance(time.Minute)
	}
	clock.waitTimers(t, 1)
	waitFor(t, "two requests", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	times := []string{got[0].Header["event-time"], got[1].Header["event-time"]}
	if diff := cmp.Diff([]string{"2024-03-01T10:01:00Z", "2024-03-01T10:02:00Z"}, times); diff != "" {
		t.Errorf("event-time per tick (-want +got):\n%s", diff)
	}
	if got[0].Header["event-id"] == got[1].Header["event-id"] {
		t.Errorf("both ticks sent event-id %q", got[0].Header["event-id"])
	}
}
