// Package proctree reads the process tree and the memory of processes from
// /proc (Linux): the conformance suite checks that no process is started per
// request, and the benchmarks measure a runtime's memory with all its
// workers.
package proctree

import (
	"bufio"
	"bytes"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Descendants returns the pids of every process below pid, sorted.
func Descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parent(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	sort.Ints(out)
	return out, nil
}

// stat returns the fields of /proc/<pid>/stat after the command name.
func stat(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(b[i+1:])), true
}

func parent(pid int) (int, bool) {
	f, ok := stat(pid)
	if !ok || len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// CPUTicks returns the user and system CPU time of pid and its
// descendants, in clock ticks (1/100 s on Linux).
func CPUTicks(pid int) (float64, error) {
	pids, err := Descendants(pid)
	if err != nil {
		return 0, err
	}
	var total float64
	for _, p := range append(pids, pid) {
		if f, ok := stat(p); ok && len(f) > 13 {
			u, _ := strconv.ParseFloat(f[11], 64)
			s, _ := strconv.ParseFloat(f[12], 64)
			total += u + s
		}
	}
	return total, nil
}

// PSS returns the proportional set size of pid and its descendants, in
// MiB: pages shared between processes count once in all.
func PSS(pid int) float64 {
	pids, _ := Descendants(pid)
	var total float64
	for _, p := range append(pids, pid) {
		f, err := os.Open("/proc/" + strconv.Itoa(p) + "/smaps_rollup")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Pss:") {
				if fs := strings.Fields(sc.Text()); len(fs) > 1 {
					kb, _ := strconv.ParseFloat(fs[1], 64)
					total += kb / 1024
				}
			}
		}
		f.Close()
	}
	return total
}

// TreeCPUSeconds returns the CPU time (user and system) used so far by pid
// and every process below it, the ones still running and the ones already
// waited for: the workers of an interpreted runtime are children of the
// process that was started, and their time must count.
func TreeCPUSeconds(pid int) (float64, bool) {
	pids, err := Descendants(pid)
	if err != nil {
		return 0, false
	}
	var ticks float64
	found := false
	for _, p := range append(pids, pid) {
		f, ok := stat(p)
		if !ok || len(f) < 15 {
			continue
		}
		found = found || p == pid
		// utime, stime, cutime, cstime: fields 14-17 of the line.
		for _, x := range f[11:15] {
			v, _ := strconv.ParseFloat(x, 64)
			ticks += v
		}
	}
	return ticks / 100, found // USER_HZ is 100 on Linux
}
