package cron

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	from := time.Date(2024, 3, 1, 10, 7, 30, 0, time.UTC) // a Friday
	bad := func(expr, why string) string {
		return `invalid cron schedule "` + expr + `": ` + why + "; " + Accepted
	}
	tests := []struct {
		name     string
		expr     string
		wantNext []time.Time
		wantErr  string
	}{
		{name: "every minute", expr: "* * * * *", wantNext: []time.Time{
			time.Date(2024, 3, 1, 10, 8, 0, 0, time.UTC), time.Date(2024, 3, 1, 10, 9, 0, 0, time.UTC)}},
		{name: "every 15 minutes", expr: "*/15 * * * *", wantNext: []time.Time{
			time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC), time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC)}},
		{name: "weekdays at nine", expr: "0 9 * * 1-5", wantNext: []time.Time{
			time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC)}},
		{name: "names and lists", expr: "30 8,20 1 JAN,jul *", wantNext: []time.Time{
			time.Date(2024, 7, 1, 8, 30, 0, 0, time.UTC), time.Date(2024, 7, 1, 20, 30, 0, 0, time.UTC)}},
		{name: "leap day", expr: "0 0 29 2 *", wantNext: []time.Time{
			time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)}},
		{name: "surrounding space", expr: "  0 * * * *\n", wantNext: []time.Time{
			time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC)}},
		{name: "hourly", expr: "@hourly", wantNext: []time.Time{
			time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}},
		{name: "daily", expr: "@daily", wantNext: []time.Time{time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "every 90s", expr: "@every 90s", wantNext: []time.Time{
			time.Date(2024, 3, 1, 10, 9, 0, 0, time.UTC), time.Date(2024, 3, 1, 10, 10, 30, 0, time.UTC)}},
		{name: "time zone", expr: "CRON_TZ=America/New_York 0 9 * * *", wantNext: []time.Time{
			time.Date(2024, 3, 1, 14, 0, 0, 0, time.UTC)}},

		{name: "empty", expr: " ", wantErr: bad(" ", "the expression is empty")},
		{name: "one field", expr: "x", wantErr: bad("x", "expected exactly 5 fields, found 1: [x]")},
		{name: "six fields (seconds)", expr: "0 * * * * *", wantErr: bad("0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]")},
		{name: "minute out of range", expr: "61 * * * *", wantErr: bad("61 * * * *", "end of range (61) above maximum (59): 61")},
		{name: "unknown descriptor", expr: "@sometimes", wantErr: bad("@sometimes", "unrecognized descriptor: @sometimes")},
		{name: "bad every", expr: "@every soon", wantErr: bad("@every soon", `failed to parse duration @every soon: time: invalid duration "soon"`)},
		{name: "every too short", expr: "@every 0s", wantErr: bad("@every 0s", "@every needs a duration of at least 1s, got 0s")},
		{name: "zone alone", expr: "TZ=UTC", wantErr: bad("TZ=UTC", "a time zone must be followed by the schedule")},
		{name: "unknown zone", expr: "CRON_TZ=Mars/Base * * * * *", wantErr: bad("CRON_TZ=Mars/Base * * * * *", "provided bad location Mars/Base: unknown time zone Mars/Base")},
		{name: "never fires", expr: "0 0 30 2 *", wantErr: bad("0 0 30 2 *", "the schedule never fires (a day that does not exist in its months?)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.expr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error = %v\nwant %q", tt.expr, err, tt.wantErr)
				}
				var se *ScheduleError
				if !errors.As(err, &se) || se.Expr != tt.expr || se.Unwrap() == nil {
					t.Errorf("error is not a *ScheduleError for %q with a cause: %#v", tt.expr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			var got []time.Time
			for at := from; len(got) < len(tt.wantNext); {
				at = s.Next(at)
				got = append(got, at)
			}
			if diff := cmp.Diff(tt.wantNext, got); diff != "" {
				t.Errorf("Next from %s (-want +got):\n%s", from, diff)
			}
		})
	}
}
