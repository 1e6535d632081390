//go:build unix

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroups are the engine's cgroups: in each writable hierarchy, a folder
// named after the engine below the engine's own cgroup, holding one folder
// per instance.
type cgroups struct {
	memory, cpu, freezer string // v1 controller folders of the engine; "" if absent
	unified              string // the v2 folder of the engine; "" if absent
	v2Memory, v2CPU      bool   // the v2 folder's children get these controllers
}

const cgroupRoot = "/sys/fs/cgroup"

// newCgroups finds the hierarchies this process can create cgroups in.
func newCgroups(name string) (*cgroups, string) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, "cannot read /proc/self/cgroup: " + err.Error()
	}
	defer f.Close()
	c := &cgroups{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		if parts[0] == "0" && ctrls == "" {
			base := cgroupRoot
			if _, err := os.Stat(filepath.Join(cgroupRoot, "unified", "cgroup.procs")); err == nil {
				base = filepath.Join(cgroupRoot, "unified") // hybrid
			}
			if d := makeDir(filepath.Join(base, path, name)); d != "" {
				c.unified = d
				c.v2Memory, c.v2CPU = enableV2(d)
			}
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			switch ctrl {
			case "memory":
				c.memory = makeDir(filepath.Join(cgroupRoot, "memory", path, name))
			case "cpu":
				c.cpu = makeDir(filepath.Join(cgroupRoot, "cpu", path, name))
			case "freezer":
				c.freezer = makeDir(filepath.Join(cgroupRoot, "freezer", path, name))
			}
		}
	}
	if c.memory == "" && c.cpu == "" && c.freezer == "" && c.unified == "" {
		return nil, "no cgroup hierarchy under " + cgroupRoot + " is writable by the engine"
	}
	return c, ""
}

// makeDir creates dir (a cgroup) and returns it, or "" if it cannot.
func makeDir(dir string) string {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return ""
	}
	return dir
}

// enableV2 gives the children of dir the memory and cpu controllers, where
// its parent delegates them.
func enableV2(dir string) (memory, cpu bool) {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	have := " " + strings.TrimSpace(string(b)) + " "
	for _, ctrl := range []string{"memory", "cpu"} {
		if strings.Contains(have, " "+ctrl+" ") && writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+ctrl) == nil {
			if ctrl == "memory" {
				memory = true
			} else {
				cpu = true
			}
		}
	}
	return memory, cpu
}

func (c *cgroups) describe() string {
	var on []string
	mem, cpu := c.memory != "" || c.v2Memory, c.cpu != "" || c.v2CPU
	if c.memory != "" {
		on = append(on, "v1 memory")
	}
	if c.cpu != "" {
		on = append(on, "v1 cpu")
	}
	if c.freezer != "" {
		on = append(on, "v1 freezer")
	}
	if c.unified != "" {
		v2 := "v2"
		if c.v2Memory {
			v2 += " memory"
		}
		if c.v2CPU {
			v2 += " cpu"
		}
		on = append(on, v2)
	}
	s := "one per instance (" + strings.Join(on, ", ") + ")"
	if !mem {
		s += "; --memory not enforced (no memory controller)"
	}
	if !cpu {
		s += "; --cpu not enforced (no cpu controller)"
	}
	return s
}

// create makes the instance's cgroups with its limits and returns the
// folders a process joins.
func (c *cgroups) create(name string, memBytes, cpuMillis int64) ([]string, error) {
	c.remove(name) // what an earlier run of the same instance left
	var dirs []string
	add := func(parent string) (string, error) {
		if parent == "" {
			return "", nil
		}
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
		dirs = append(dirs, d)
		return d, nil
	}
	d, err := add(c.memory)
	if err != nil {
		return nil, err
	}
	if d != "" && memBytes > 0 {
		if err := writeFile(filepath.Join(d, "memory.limit_in_bytes"), strconv.FormatInt(memBytes, 10)); err != nil {
			return nil, fmt.Errorf("set memory limit: %w", err)
		}
		// Without swap accounting the limit could be met by swapping.
		writeFile(filepath.Join(d, "memory.memsw.limit_in_bytes"), strconv.FormatInt(memBytes, 10))
	}
	if d, err = add(c.cpu); err != nil {
		return nil, err
	}
	if d != "" && cpuMillis > 0 {
		if err := writeFile(filepath.Join(d, "cpu.cfs_period_us"), "100000"); err != nil {
			return nil, fmt.Errorf("set cpu period: %w", err)
		}
		if err := writeFile(filepath.Join(d, "cpu.cfs_quota_us"), strconv.FormatInt(cpuMillis*100, 10)); err != nil {
			return nil, fmt.Errorf("set cpu quota: %w", err)
		}
	}
	if _, err = add(c.freezer); err != nil {
		return nil, err
	}
	if d, err = add(c.unified); err != nil {
		return nil, err
	}
	if d != "" && c.v2Memory && memBytes > 0 {
		writeFile(filepath.Join(d, "memory.max"), strconv.FormatInt(memBytes, 10))
		writeFile(filepath.Join(d, "memory.swap.max"), "0")
	}
	if d != "" && c.v2CPU && cpuMillis > 0 {
		writeFile(filepath.Join(d, "cpu.max"), strconv.FormatInt(cpuMillis*100, 10)+" 100000")
	}
	return dirs, nil
}

// remove kills every process in the instance's cgroups and removes them.
func (c *cgroups) remove(name string) int {
	n := c.killAll(name)
	for _, parent := range []string{c.memory, c.cpu, c.freezer, c.unified} {
		if parent != "" {
			rmdirWhenEmpty(filepath.Join(parent, name))
		}
	}
	return n
}

// killAll kills every process in the instance's cgroups.
func (c *cgroups) killAll(name string) int {
	n := 0
	if c.unified != "" {
		d := filepath.Join(c.unified, name)
		n = len(pids(d))
		if writeFile(filepath.Join(d, "cgroup.kill"), "1") == nil {
			return n
		}
	}
	var frozen string
	if c.freezer != "" {
		frozen = filepath.Join(c.freezer, name)
		if writeFile(filepath.Join(frozen, "freezer.state"), "FROZEN") != nil {
			frozen = ""
		}
	}
	// Frozen processes cannot fork meanwhile; without a freezer, repeat
	// until no new process appears.
	for range 100 {
		var all []int
		for _, parent := range []string{c.freezer, c.memory, c.cpu, c.unified} {
			if parent != "" {
				all = append(all, pids(filepath.Join(parent, name))...)
			}
		}
		if len(all) == 0 {
			break
		}
		for _, pid := range all {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
		if frozen != "" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if frozen != "" {
		writeFile(filepath.Join(frozen, "freezer.state"), "THAWED")
	}
	return n
}

// sweep kills what is left in every instance cgroup of the engine.
func (c *cgroups) sweep() int {
	seen := map[string]bool{}
	n := 0
	for _, parent := range []string{c.memory, c.cpu, c.freezer, c.unified} {
		if parent == "" {
			continue
		}
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				n += c.remove(e.Name())
			}
		}
	}
	return n
}

func pids(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// rmdirWhenEmpty removes a cgroup once its killed processes are gone (a
// cgroup with members cannot be removed); it gives up after a second.
func rmdirWhenEmpty(dir string) {
	for range 200 {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
