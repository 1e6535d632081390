package host

// Starting and ending worker processes, the only part of the pool that
// depends on the operating system:
//
//   - workerSysProcAttr returns the process attributes of a worker;
//   - killGroup kills a worker and every process it started.
//
// Workers are started with pkg/spawn: on Linux a worker also dies with the
// host (a parent-death signal, tied to the one thread that forks every
// child). Elsewhere the host kills its workers on the way out, and an
// orphan is left if the host itself is killed.
