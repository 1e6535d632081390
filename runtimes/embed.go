// Package runtimes embeds the language workers (docs/worker-protocol.md) so
// that the kubeless binary can run functions on a machine with no image:
// `kubeless runtime run` writes them to its cache and starts them behind the
// host, exactly as the runtime images do.
package runtimes

import "embed"

// Files holds each language's worker, under <language>/.
//
//go:embed python/kubeless.py nodejs/kubeless.js nodejs/lib/*.js ruby/kubeless.rb php/kubeless.php
var Files embed.FS
