package client

import (
	"context"
	"net"
	"path/filepath"
	"testing"
)

// A daemon killed while accepting resets the connection: a status query
// then says the engine is not running, so the CLI starts it again.
func TestResetConnectionIsNotRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close() // no answer: reset or EOF for the client
		}
	}()
	_, err = New(sock).Status(context.Background())
	if !IsNotRunning(err) {
		t.Errorf("Status against a socket that drops connections = %v, want a NotRunningError", err)
	}
}
