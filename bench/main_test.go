package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/kubeless/kubeless/pkg/contract"
)

// TestMain makes the test binary a target when asked: it serves hello
// world only on the socket handed over as KUBELESS_LISTEN_FD, and fails
// without one.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_TEST_TARGET") == "1" {
		n, err := strconv.Atoi(os.Getenv(contract.EnvListenFD))
		if err != nil {
			os.Stderr.WriteString("no " + contract.EnvListenFD + "\n")
			os.Exit(2)
		}
		ln, err := net.FileListener(os.NewFile(uintptr(n), "listener"))
		if err != nil {
			os.Exit(3)
		}
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello world") }))
		return
	}
	os.Exit(m.Run())
}

func TestStartHandsOverItsSocket(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tg := target{name: "test target", ref: true, cmd: []string{self}, env: []string{"BENCH_TEST_TARGET=1"}}
	url, stop, _, err := start(tg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello world" {
		t.Errorf("body = %q", body)
	}
}

// php -S binds port 0 itself; start reads the port from its start line.
func TestStartReadsPHPPort(t *testing.T) {
	if _, err := exec.LookPath("php"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("php is not installed (hack/install-deps.sh installs it)")
		}
		t.Skip("php is not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/index.php", []byte("<?php echo 'hello world';"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := target{name: "php -S", ref: true, cmd: []string{"php", "-S", "127.0.0.1:{port}", dir + "/index.php"}}
	url, stop, _, err := start(tg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello world" {
		t.Errorf("body = %q", body)
	}
}
