// Package supervisor starts, stops and restarts the local processes of
// function instances, captures their output, and reports their status.
//
// A Supervisor manages processes by name, each defined by a Spec. Every
// process runs in a process group of its own, so stopping it also stops
// what it started (a `/bin/sh -c` wrapper's server, npm's node): Stop sends
// SIGTERM to the group, waits up to a grace period for the whole group to
// exit, then sends SIGKILL to the group. When a process exits by itself,
// whatever is left of its group is killed at once.
//
// Processes are started with pkg/spawn: from one OS thread that lives as
// long as the engine, with the parent-death signal set to SIGKILL (Linux),
// so a process dies when the engine dies, however it dies. The signal
// reaches the process itself, not its group: a child that forks and exits
// leaves grandchildren that outlive a killed engine.
//
// A process that exits is restarted according to its RestartPolicy, after
// a delay that doubles with each consecutive quick failure (see Backoff).
// The output of each process (stdout and stderr, as one stream, in the
// order written) is split into lines that go to its log file (with a size
// cap and one rotated file, LogPath + ".1"), to a short in-memory tail
// shown in Status, and to Follow subscribers.
//
// There is no adoption: a Supervisor knows only the processes it started,
// and it records nothing on disk but their logs. When the engine restarts,
// it starts every process anew from its stored definitions; the old
// processes died with the old engine through the parent-death signal (see
// above for what it does not reach). Log files are appended to, so they
// span restarts.
//
// The package imports nothing from this module but pkg/spawn, and no
// Kubernetes package.
// It is internal; its API is not stable.
package supervisor
