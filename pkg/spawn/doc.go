// Package spawn starts child processes and replaces the current process
// image so that, on Linux, a child never outlives the process that started
// it, even when that process is killed with SIGKILL.
//
// The kernel's parent-death signal (PR_SET_PDEATHSIG) is an attribute of a
// thread, not of a process, on both ends:
//
//   - The signal fires when the *thread* that forked the child ends. A Go
//     program forks from whatever thread its goroutine happens to run on,
//     and Go ends threads (a goroutine that returns while locked to its
//     thread takes the thread with it). Start therefore forks every child
//     from one thread that is locked for the life of the process, so the
//     signal means "when this process dies".
//   - The child's signal is stored on the child's thread that set it: the
//     one that went on to execve, its main thread. When the child later
//     calls execve from another thread (a Go program's main goroutine is
//     rarely on its main thread), the kernel keeps the calling thread and
//     discards the main one, and with it the signal: the new image has no
//     parent-death signal at all. Exec sets the signal that the process was
//     started with on the calling thread before execve, so it survives.
//
// A program that may be replaced by Exec must import this package (its
// init records the signal the process started with, on the main thread).
//
// The package imports only the standard library; its API is stable.
package spawn
