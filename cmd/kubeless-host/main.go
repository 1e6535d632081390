// Command kubeless-host serves a function through language worker
// processes: it supplies the runtime contract's time limit, metrics, request
// log, concurrency limit and drain (docs/worker-protocol.md).
package main

import (
	"os"

	"github.com/kubeless/kubeless/pkg/host"
)

func main() { os.Exit(host.Main()) }
