package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/kubeless/kubeless/internal/langruntime"
	"github.com/kubeless/kubeless/internal/source"
)

// HTTPFetch returns a FetchFunc that GETs a URL with net/http and refuses a
// body larger than lim.MaxTotalSize (source.DefaultMaxTotalSize when zero)
// and a status other than 200.
func HTTPFetch(lim source.Limits) FetchFunc {
	limit := lim.MaxTotalSize
	if limit <= 0 {
		limit = source.DefaultMaxTotalSize
	}
	return func(ctx context.Context, url string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("download function: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("download function: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("download function from %s: %s", url, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("download function from %s: %w", url, err)
		}
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("download function from %s: larger than %d bytes", url, limit)
		}
		return b, nil
	}
}

// Prepare materialises decoded code into dir, which must not exist (its
// parent must): an archive is extracted safely (source.Extract), other code
// is written as <module><fileNameSuffix>. Then, unless the content type has
// +deps, a non-empty deps is written as the runtime's dependency file. This
// is the local equivalent of the pod's "prepare" init container. On error
// dir does not exist.
func Prepare(dir string, code []byte, ct source.ContentType, h source.Handler, rt *langruntime.Runtime, deps string, lim source.Limits) (err error) {
	if ct.IsArchive() {
		if err := source.Extract(code, ct.Archive, dir, lim); err != nil {
			return err
		}
	} else {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil {
			removeAll(dir)
		}
	}()
	if !ct.IsArchive() {
		name := rt.FileName(h.Module, ct)
		// A handler in a sub-folder (src/hello.foo): ParseHandler has
		// refused any folder that leaves dir.
		if d := h.Dir(); d != "" {
			if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), code, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if !ct.Deps && deps != "" {
		if rt.DepName == "" {
			return errors.New("the runtime has no dependency file, but the function has deps")
		}
		p := filepath.Join(dir, rt.DepName)
		// An archive may bring a link of that name: never write through it.
		if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("write %s: the archive has a %s of that name", rt.DepName, fi.Mode().Type())
		}
		if err := os.WriteFile(p, []byte(deps), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", rt.DepName, err)
		}
	}
	return nil
}
