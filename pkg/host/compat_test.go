package host

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The original runtimes' tuning variables are aliases of the host's own.
func TestFromEnvAliases(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		maxBody     int64
		concurrency int
		wantErr     string
	}{
		{name: "REQ_MB_LIMIT", env: baseEnv("REQ_MB_LIMIT=5"), maxBody: 5 << 20, concurrency: 1},
		{name: "REQ_MB_LIMIT decimal", env: baseEnv("REQ_MB_LIMIT=0.5"), maxBody: 512 << 10, concurrency: 1},
		{name: "FUNC_MEMFILE_MAX", env: baseEnv("FUNC_MEMFILE_MAX=2048"), maxBody: 2048, concurrency: 1},
		{name: "REQ_MB_LIMIT wins over FUNC_MEMFILE_MAX", env: baseEnv("FUNC_MEMFILE_MAX=2048", "REQ_MB_LIMIT=1"), maxBody: 1 << 20, concurrency: 1},
		{name: "FUNC_MAX_BODY wins", env: baseEnv("FUNC_MAX_BODY=100", "REQ_MB_LIMIT=1", "FUNC_MEMFILE_MAX=2048"), maxBody: 100, concurrency: 1},
		{name: "CHERRYPY_NUMTHREADS", env: baseEnv("CHERRYPY_NUMTHREADS=10"), maxBody: 100 << 20, concurrency: 10},
		{name: "KUBELESS_WORKER_CONCURRENCY wins", env: baseEnv("CHERRYPY_NUMTHREADS=10", "KUBELESS_WORKER_CONCURRENCY=3"), maxBody: 100 << 20, concurrency: 3},
		{name: "bad REQ_MB_LIMIT", env: baseEnv("REQ_MB_LIMIT=1mb"), wantErr: `REQ_MB_LIMIT="1mb" is not a number of megabytes (for example 1 or 0.5); or set FUNC_MAX_BODY in bytes`},
		{name: "zero REQ_MB_LIMIT", env: baseEnv("REQ_MB_LIMIT=0"), wantErr: `REQ_MB_LIMIT="0" is not a number of megabytes`},
		{name: "bad FUNC_MEMFILE_MAX", env: baseEnv("FUNC_MEMFILE_MAX=-1"), wantErr: `FUNC_MEMFILE_MAX="-1" is not a whole number of bytes of at least 1; or set FUNC_MAX_BODY`},
		{name: "bad CHERRYPY_NUMTHREADS", env: baseEnv("CHERRYPY_NUMTHREADS=many"), wantErr: `CHERRYPY_NUMTHREADS="many" is not a whole number of threads of at least 1; or set KUBELESS_WORKER_CONCURRENCY`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]any{tt.maxBody, tt.concurrency}, []any{c.MaxBody, c.WorkerConcurrency}); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}
