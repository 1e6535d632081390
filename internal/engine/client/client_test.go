package client

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/engine/api"
)

type fakeBackend struct{ api.Backend }

func (fakeBackend) Get(_ context.Context, ns, name string) (*v1beta1.Function, error) {
	if name == "there" {
		fn := &v1beta1.Function{}
		fn.Name, fn.Namespace = name, ns
		return fn, nil
	}
	return nil, backend.Errorf(backend.CodeNotFound, "function %q not found in namespace %q", name, ns)
}

func (fakeBackend) Deploy(context.Context, *v1beta1.Function) (*v1beta1.Function, error) {
	return nil, backend.Errorf(backend.CodeAlreadyExists, "exists")
}

func TestErrors(t *testing.T) {
	dir, _ := os.MkdirTemp("", "klc")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")

	c := New(sock)
	if _, err := c.Status(context.Background()); !IsNotRunning(err) {
		t.Fatalf("no socket: %v", err)
	}

	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.NewHandler(fakeBackend{}, nil))
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	fn, err := c.Get(context.Background(), "ns1", "there")
	if err != nil || fn.Name != "there" || fn.Namespace != "ns1" {
		t.Fatalf("Get = %v, %v", fn, err)
	}
	_, err = c.Get(context.Background(), "", "gone")
	if !IsNotFound(err) || err.Error() != `function "gone" not found in namespace "default"` {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := c.Deploy(context.Background(), &v1beta1.Function{}); !IsAlreadyExists(err) {
		t.Errorf("Deploy: %v", err)
	}
}
