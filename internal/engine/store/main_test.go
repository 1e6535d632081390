//go:build unix

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// helperEnv makes the test binary act as a helper process (nomad's testtask
// pattern) instead of running the tests; see runHelper.
const helperEnv = "KUBELESS_STORE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runHelper runs one helper mode:
//
//	writer DIR   puts crashValue(gen, key) for every crashKeys key, for
//	             gen = 1, 2, …, printing "ready" once every key has a value,
//	             until killed
//	locker DIR   takes Lock(DIR), prints "locked" and holds the lock until
//	             its stdin closes
//	wait DIR     waits until its stdin closes
func runHelper(mode string, args []string) int {
	if len(args) != 1 {
		fmt.Fprintf(os.Stderr, "helper %s: want one argument, got %q\n", mode, args)
		return 2
	}
	switch mode {
	case "writer":
		s, err := NewFile(args[0], nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		start := 1
		if v, err := s.Get(crashKeys[0]); err == nil {
			start, _ = strconv.Atoi(string(v[len("gen="):bytes.IndexByte(v, ' ')]))
			start++
		}
		for gen := start; ; gen++ {
			for _, key := range crashKeys {
				if err := s.Put(key, crashValue(gen, key)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
			}
			if gen == start {
				fmt.Println("ready")
			}
		}
	case "wait":
		bufio.NewReader(os.Stdin).ReadString('\n')
		return 0
	case "locker":
		unlock, err := Lock(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer unlock()
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}
