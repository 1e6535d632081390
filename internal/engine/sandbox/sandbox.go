// Package sandbox confines the local engine's function instances.
//
// Each instance runs under bubblewrap (bwrap, from the distribution) in its
// own mount, PID, IPC and UTS namespaces (and a user namespace where the
// kernel allows one): the root file system is read-only, the instance's
// own folder is mounted read-only, /tmp is private and writable, /proc
// shows only the instance's processes, and the folders the engine names
// (its home with the state, the API socket, the logs and every function's
// build; its caches) are hidden behind empty file systems. The instance is
// PID 1 of its namespace, so when it ends the kernel kills every process it
// left, setsid or not, and bwrap dies with its parent (the engine).
//
// Each instance also gets a cgroup of its own in every hierarchy the engine
// can write: cgroup v1 memory, cpu and freezer controllers, and the v2
// (unified) hierarchy. --memory and --cpu become the memory and CPU limits;
// Kill ends every process left in the instance's cgroups (cgroup.kill on
// v2, else freeze, kill and thaw on v1).
//
// Where bwrap is missing or cannot create namespaces, or no cgroup can be
// created, the Sandbox says so (Describe) and instances run as before.
//
// Why bubblewrap rather than the same system calls from Go: the mounts must
// happen in the child between clone and exec, which Go's os/exec cannot do
// without a re-executed helper of our own that would have to get every
// detail (mount order, propagation, /proc in a PID namespace, PID 1
// signal handling) right; bwrap is small, audited, packaged by Debian and
// used by Flatpak for exactly this.
package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Sandbox wraps the commands of instances. Create it with New.
type Sandbox struct {
	logger *slog.Logger
	bwrap  string // path of bwrap; "" when namespaces are off
	nsOff  string // why namespaces are off
	hide   []string
	cg     *cgroups // nil when no cgroup can be created
	cgOff  string   // why cgroups are off
}

// Options configure New.
type Options struct {
	// Name identifies the engine in cgroup names (its home, hashed).
	Name string
	// Hide are folders that no instance may see.
	Hide []string
	// Disable turns the sandbox off (KUBELESS_SANDBOX=off).
	Disable bool
	Logger  *slog.Logger
}

// New probes what this machine allows and returns a Sandbox that uses it.
// It logs once what is enforced and what is not.
func New(opts Options) *Sandbox {
	s := &Sandbox{logger: opts.Logger, hide: opts.Hide}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if opts.Disable {
		s.nsOff, s.cgOff = "turned off by KUBELESS_SANDBOX=off", "turned off by KUBELESS_SANDBOX=off"
	} else {
		s.bwrap, s.nsOff = probeBwrap()
		sum := sha256.Sum256([]byte(opts.Name))
		s.cg, s.cgOff = newCgroups("kubeless-" + hex.EncodeToString(sum[:])[:12])
	}
	if s.bwrap == "" || s.cg == nil {
		s.logger.Warn("instances are not sandboxed: "+s.Describe(), "sandbox", "partial")
	} else {
		s.logger.Info("instances are sandboxed: "+s.Describe(), "sandbox", "on")
	}
	return s
}

// Describe says in one line what confines instances on this machine.
func (s *Sandbox) Describe() string {
	ns := "namespaces: bubblewrap (mount, pid, ipc, uts; read-only code, private /tmp, engine home hidden)"
	if s.bwrap == "" {
		ns = "namespaces: off (" + s.nsOff + "): instances see the engine's files and each other's"
	}
	cg := "cgroups: off (" + s.cgOff + "): --memory and --cpu are not enforced, a process that leaves its group may outlive its instance"
	if s.cg != nil {
		cg = "cgroups: " + s.cg.describe()
	}
	return ns + "; " + cg
}

// Namespaces reports whether instances run in namespaces.
func (s *Sandbox) Namespaces() bool { return s.bwrap != "" }

// Instance is what Command needs to know of an instance.
type Instance struct {
	// Name is unique among the engine's instances ("ns/fn/0").
	Name string
	// Args is the instance's command; Args[0] must be an absolute path.
	Args []string
	// Dir is the instance's folder: its working directory, mounted
	// read-only.
	Dir string
	// Expose are folders (or files) the instance may read although they
	// are in a hidden folder (the runtimes' workers in the engine's
	// cache), mounted read-only.
	Expose []string
	// MemoryBytes and CPUMillis are the limits; 0 means none.
	MemoryBytes int64
	CPUMillis   int64
}

// Command returns the command line that runs in.Args confined, after
// creating the instance's cgroups (removed by Kill). Without any
// confinement it returns in.Args.
func (s *Sandbox) Command(in Instance) ([]string, error) {
	args := in.Args
	if s.bwrap != "" {
		args = append(s.bwrapArgs(in), in.Args...)
	}
	var dirs []string
	if s.cg != nil {
		var err error
		if dirs, err = s.cg.create(cgName(in.Name), in.MemoryBytes, in.CPUMillis); err != nil {
			return nil, fmt.Errorf("cgroup of instance %s: %w", in.Name, err)
		}
	}
	// The wrapper joins the cgroups before anything of the instance runs,
	// ignores SIGTERM (bwrap would die of it and take the instance with
	// it before it drained: the instance gets the signal itself, being in
	// the same process group), then becomes bwrap.
	wrapper := []string{"/bin/sh", "-c", `trap '' TERM; n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ >"$1/cgroup.procs" || exit 125; shift; n=$((n-1)); done; exec "$@"`,
		"kubeless-sandbox", strconv.Itoa(len(dirs))}
	if len(dirs) == 0 && s.bwrap == "" {
		return args, nil
	}
	return append(append(wrapper, dirs...), args...), nil
}

func (s *Sandbox) bwrapArgs(in Instance) []string {
	a := []string{s.bwrap, "--die-with-parent", "--unshare-user-try", "--unshare-pid", "--unshare-ipc",
		"--unshare-uts", "--as-pid-1",
		"--ro-bind", "/", "/",
		"--dev", "/dev", "--proc", "/proc",
		"--tmpfs", "/tmp"}
	for _, h := range s.hide {
		a = append(a, "--tmpfs", h)
	}
	// Mounted last, so they show through the hidden folders.
	if exe := in.Args[0]; filepath.IsAbs(exe) {
		a = append(a, "--ro-bind", exe, exe)
	}
	for _, p := range in.Expose {
		a = append(a, "--ro-bind", p, p)
	}
	if in.Dir != "" {
		a = append(a, "--ro-bind", in.Dir, in.Dir, "--chdir", in.Dir)
	}
	return append(a, "--")
}

// Kill ends every process left in the instance's cgroups and removes them.
func (s *Sandbox) Kill(name string) {
	if s.cg != nil {
		s.cg.remove(cgName(name))
	}
}

// Sweep kills what a previous engine with the same name left in its
// cgroups (an engine killed with SIGKILL whose instances escaped the
// parent-death signal), and returns how many processes it killed.
func (s *Sandbox) Sweep() int {
	if s.cg == nil {
		return 0
	}
	return s.cg.sweep()
}

func cgName(instance string) string { return strings.NewReplacer("/", "_", ".", "_").Replace(instance) }

// probeBwrap finds bwrap and checks that it can create the namespaces.
func probeBwrap() (path, why string) {
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return "", "bwrap (package bubblewrap) is not installed"
	}
	out, err := exec.Command(path, "--unshare-user-try", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--as-pid-1", "--ro-bind", "/", "/", "--proc", "/proc", "--tmpfs", "/tmp", "--", "/bin/true").CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return "", "bwrap cannot create namespaces here (" + msg + "; user namespaces may be disabled)"
	}
	return path, ""
}

func writeFile(p, v string) error { return os.WriteFile(p, []byte(v), 0o644) }
