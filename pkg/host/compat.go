package host

import (
	"fmt"
	"math"
	"strconv"

	"github.com/kubeless/kubeless/pkg/contract"
)

// The tuning variables that users of the original Kubeless set on its Python
// and Node.js runtimes, read as aliases of the host's own when those are
// unset.
const (
	// EnvReqMBLimit was the Node.js runtime's body limit, in megabytes
	// (decimals allowed): an alias of FUNC_MAX_BODY.
	EnvReqMBLimit = "REQ_MB_LIMIT"
	// EnvFuncMemfileMax was the Python runtime's body size (Bottle's
	// MEMFILE_MAX), in bytes: an alias of FUNC_MAX_BODY.
	EnvFuncMemfileMax = "FUNC_MEMFILE_MAX"
	// EnvCherrypyNumthreads was the Python runtime's number of server
	// threads: an alias of KUBELESS_WORKER_CONCURRENCY, the invocations one
	// worker runs at once (on that many threads in Python).
	EnvCherrypyNumthreads = "CHERRYPY_NUMTHREADS"
)

// applyAliases sets FUNC_MAX_BODY and KUBELESS_WORKER_CONCURRENCY in m from
// the original's variables when they are unset. REQ_MB_LIMIT wins over
// FUNC_MEMFILE_MAX when both are set. Errors name the variable.
func applyAliases(m map[string]string) error {
	if m[contract.EnvFuncMaxBody] == "" {
		if v := m[EnvReqMBLimit]; v != "" {
			mb, err := strconv.ParseFloat(v, 64)
			if err != nil || mb <= 0 || math.IsInf(mb, 0) || mb*(1<<20) > math.MaxInt32*1024.0 {
				return fmt.Errorf("%s=%q is not a number of megabytes (for example 1 or 0.5); or set %s in bytes", EnvReqMBLimit, v, contract.EnvFuncMaxBody)
			}
			m[contract.EnvFuncMaxBody] = strconv.FormatInt(int64(mb*(1<<20)), 10)
		} else if v := m[EnvFuncMemfileMax]; v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return fmt.Errorf("%s=%q is not a whole number of bytes of at least 1; or set %s", EnvFuncMemfileMax, v, contract.EnvFuncMaxBody)
			}
			m[contract.EnvFuncMaxBody] = v
		}
	}
	if m[contract.EnvWorkerConcurrency] == "" {
		if v := m[EnvCherrypyNumthreads]; v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return fmt.Errorf("%s=%q is not a whole number of threads of at least 1; or set %s", EnvCherrypyNumthreads, v, contract.EnvWorkerConcurrency)
			}
			m[contract.EnvWorkerConcurrency] = v
		}
	}
	return nil
}
