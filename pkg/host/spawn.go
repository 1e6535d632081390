package host

// Starting and ending worker processes, the only part of the pool that
// depends on the operating system:
//
//   - workerSysProcAttr returns the process attributes of a worker;
//   - startOnSpawnThread starts a worker's command;
//   - killGroup kills a worker and every process it started.
//
// On Linux a worker also dies with the host (a parent-death signal, tied to
// the thread that forked it: spawn_linux.go). Elsewhere the host kills its
// workers on the way out, and an orphan is left if the host itself is
// killed.
