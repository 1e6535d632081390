package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ulikunitz/xz"
)

// entry describes one archive member for the test archive builders.
type entry struct {
	name string
	kind byte // 'f' file, 'd' folder, 'l' symlink, 'h' hard link, 'c' char device, 'b' block device, 'p' FIFO
	body string
	link string
	mode int64 // 0 means 0644 (files) or 0755 (folders)
	// size, when non-zero, is the size written into the tar header or zip
	// directory instead of len(body).
	size int64
}

func makeTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Linkname: e.link, Format: tar.FormatPAX}
		switch e.kind {
		case 'f':
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		case 'd':
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case 'l':
			h.Typeflag = tar.TypeSymlink
		case 'h':
			h.Typeflag = tar.TypeLink
		case 'c':
			h.Typeflag = tar.TypeChar
		case 'b':
			h.Typeflag = tar.TypeBlock
		case 'p':
			h.Typeflag = tar.TypeFifo
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if e.kind == 'f' {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("tar body %q: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func makeZip(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch e.kind {
		case 'f':
			m := fs.FileMode(e.mode)
			if m == 0 {
				m = 0o644
			}
			h.SetMode(m)
		case 'd':
			if !strings.HasSuffix(h.Name, "/") {
				h.Name += "/"
			}
			h.SetMode(fs.ModeDir | 0o755)
		case 'l':
			h.SetMode(fs.ModeSymlink | 0o777)
			e.body = e.link
		case 'c':
			h.SetMode(fs.ModeDevice | fs.ModeCharDevice | 0o644)
		case 'p':
			h.SetMode(fs.ModeNamedPipe | 0o644)
		default:
			t.Fatalf("zip cannot hold entry kind %q", e.kind)
		}
		if e.size != 0 {
			// Write a raw entry whose directory lies about its size.
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestCompression)
			fw.Write([]byte(e.body))
			fw.Close()
			h.UncompressedSize64 = uint64(e.size)
			h.CompressedSize64 = uint64(comp.Len())
			w, err := zw.CreateRaw(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(comp.Bytes())
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip header %q: %v", e.name, err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipData(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzData(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree lists the folder as "path" (file, with content), "path/" (folder)
// and "path -> target" (symlink).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got[rel] = "-> " + target
		case d.IsDir():
			got[rel+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var goodEntries = []entry{
	{name: "./", kind: 'd'},
	{name: "hello.py", kind: 'f', body: "def foo(event, context):\n    return 'hi'\n"},
	{name: "lib/", kind: 'd'},
	{name: "lib/util.py", kind: 'f', body: "x = 1\n"},
	{name: "bin/run.sh", kind: 'f', body: "#!/bin/sh\n", mode: 0o777},
	{name: "node_modules/pkg/cli.js", kind: 'f', body: "cli"},
	{name: "node_modules/.bin/pkg", kind: 'l', link: "../pkg/cli.js"},
	{name: "current", kind: 'l', link: "lib"},
	{name: "dangling", kind: 'l', link: "not/there/yet"},
}

var goodTree = map[string]string{
	"hello.py":                "def foo(event, context):\n    return 'hi'\n",
	"lib/":                    "",
	"lib/util.py":             "x = 1\n",
	"bin/":                    "",
	"bin/run.sh":              "#!/bin/sh\n",
	"node_modules/":           "",
	"node_modules/pkg/":       "",
	"node_modules/pkg/cli.js": "cli",
	"node_modules/.bin/":      "",
	"node_modules/.bin/pkg":   "-> ../pkg/cli.js",
	"current":                 "-> lib",
	"dangling":                "-> not/there/yet",
}

func TestExtract(t *testing.T) {
	bz2, err := os.ReadFile("testdata/hello.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	withHardlink := append(append([]entry{}, goodEntries...), entry{name: "hello-copy.py", kind: 'h', link: "./hello.py"})
	treeWithHardlink := map[string]string{"hello-copy.py": goodTree["hello.py"]}
	for k, v := range goodTree {
		treeWithHardlink[k] = v
	}
	tests := []struct {
		name string
		kind Archive
		data []byte
		want map[string]string
	}{
		{name: "zip", kind: ArchiveZip, data: makeZip(t, goodEntries), want: goodTree},
		{name: "plain tar", kind: ArchiveTar, data: makeTar(t, goodEntries), want: goodTree},
		{name: "tar.gz", kind: ArchiveTar, data: gzipData(t, makeTar(t, goodEntries)), want: goodTree},
		{name: "tar.xz", kind: ArchiveTar, data: xzData(t, makeTar(t, goodEntries)), want: goodTree},
		{name: "tar with hard link", kind: ArchiveTar, data: makeTar(t, withHardlink), want: treeWithHardlink},
		{name: "tar.bz2 made by GNU tar", kind: ArchiveTar, data: bz2, want: map[string]string{
			"hello.py": "def foo(event, context):\n    return \"bz2\"\n", "lib/": "", "lib/util.py": "x = 1\n",
		}},
		{name: "zip with backslash separators", kind: ArchiveZip, data: makeZip(t, []entry{{name: `lib\util.py`, kind: 'f', body: "x"}}),
			want: map[string]string{"lib/": "", "lib/util.py": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "fn")
			if err := Extract(tt.data, tt.kind, target, Limits{}); err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if diff := cmp.Diff(tt.want, tree(t, target)); diff != "" {
				t.Errorf("extracted tree (-want +got):\n%s", diff)
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			if len(entries) != 1 {
				t.Errorf("parent folder has %d entries, want only the target", len(entries))
			}
		})
	}
}

func TestExtractPermissions(t *testing.T) {
	data := makeTar(t, []entry{
		{name: "run.sh", kind: 'f', body: "#!/bin/sh\n", mode: 0o4777},
		{name: "ro.txt", kind: 'f', body: "x", mode: 0o400},
		{name: "open.txt", kind: 'f', body: "x", mode: 0o666},
	})
	target := filepath.Join(t.TempDir(), "fn")
	if err := Extract(data, ArchiveTar, target, Limits{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{"run.sh": 0o755, "ro.txt": 0o600, "open.txt": 0o644}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(target, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode(), mode)
		}
	}
	fi, _ := os.Stat(target)
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("target mode = %v, want 0755", fi.Mode().Perm())
	}
}

func TestExtractRefused(t *testing.T) {
	small := Limits{MaxTotalSize: 1 << 20, MaxEntries: 5, MaxFileSize: 512 << 10}
	zeros := func(n int) string { return string(make([]byte, n)) }
	tests := []struct {
		name    string
		kind    Archive
		data    []byte
		lim     Limits
		wantIs  error
		wantErr string
	}{
		// Names escaping the folder.
		{name: "zip dot-dot", kind: ArchiveZip, data: makeZip(t, []entry{{name: "../evil.py", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "../evil.py" refused: path contains ".."`},
		{name: "tar dot-dot", kind: ArchiveTar, data: makeTar(t, []entry{{name: "../evil.py", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "../evil.py" refused: path contains ".."`},
		{name: "tar inner dot-dot", kind: ArchiveTar, data: makeTar(t, []entry{{name: "a/../../evil.py", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "a/../../evil.py" refused: path contains ".."`},
		{name: "tar dot-dot folder", kind: ArchiveTar, data: makeTar(t, []entry{{name: "../up/", kind: 'd'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "../up/" refused: path contains ".."`},
		{name: "zip backslash dot-dot", kind: ArchiveZip, data: makeZip(t, []entry{{name: `..\evil.py`, kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "../evil.py" refused: path contains ".."`},
		{name: "zip absolute", kind: ArchiveZip, data: makeZip(t, []entry{{name: "/tmp/evil.py", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "/tmp/evil.py" refused: absolute path`},
		{name: "tar absolute", kind: ArchiveTar, data: makeTar(t, []entry{{name: "/tmp/evil.py", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "/tmp/evil.py" refused: absolute path`},
		{name: "zip NUL in name", kind: ArchiveZip, data: makeZip(t, []entry{{name: "a\x00b", kind: 'f', body: "x"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "a\x00b" refused: name contains a NUL byte`},

		// Symbolic links.
		{name: "zip absolute symlink", kind: ArchiveZip, data: makeZip(t, []entry{{name: "passwd", kind: 'l', link: "/etc/passwd"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "passwd" refused: symbolic link target "/etc/passwd" is absolute`},
		{name: "tar absolute symlink", kind: ArchiveTar, data: makeTar(t, []entry{{name: "passwd", kind: 'l', link: "/etc/passwd"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "passwd" refused: symbolic link target "/etc/passwd" is absolute`},
		{name: "zip symlink out", kind: ArchiveZip, data: makeZip(t, []entry{{name: "up", kind: 'l', link: "../outside"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "up" refused: symbolic link target "../outside" points outside the folder`},
		{name: "tar nested symlink out", kind: ArchiveTar, data: makeTar(t, []entry{{name: "a/b/up", kind: 'l', link: "../../../outside"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "a/b/up" refused: symbolic link target "../../../outside" points outside the folder`},
		{name: "tar symlink chain out", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "a", kind: 'l', link: "."},
			{name: "b", kind: 'l', link: "a/.."},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "b" refused: symbolic link target "a/.." resolves outside the folder`},
		{name: "tar symlink chain out through folder", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "sub/self", kind: 'l', link: ".."},
			{name: "esc", kind: 'l', link: "sub/self/../x"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "esc" refused: symbolic link target "sub/self/../x" resolves outside the folder`},
		{name: "tar symlink loop", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "a", kind: 'l', link: "b"},
			{name: "b", kind: 'l', link: "a"},
		}), wantIs: ErrUnsafeEntry, wantErr: `refused: symbolic links in a loop`},
		{name: "tar write through symlink", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "sub/", kind: 'd'},
			{name: "link", kind: 'l', link: "sub"},
			{name: "link/evil.py", kind: 'f', body: "x"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "link/evil.py" refused: parent "link" is a symbolic link`},
		{name: "zip write through symlink", kind: ArchiveZip, data: makeZip(t, []entry{
			{name: "link", kind: 'l', link: "."},
			{name: "link/evil.py", kind: 'f', body: "x"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "link/evil.py" refused: parent "link" is a symbolic link`},
		{name: "tar file replaces symlink", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "x", kind: 'l', link: "y"},
			{name: "x", kind: 'f', body: "overwrite through the link"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "x" refused: duplicate entry`},
		{name: "tar duplicate file", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "x", kind: 'f', body: "1"},
			{name: "./x", kind: 'f', body: "2"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "./x" refused: duplicate entry`},
		{name: "tar file below a file", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "x", kind: 'f', body: "1"},
			{name: "x/y", kind: 'f', body: "2"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "x/y" refused: parent "x" is a file`},

		// Hard links.
		{name: "tar hard link out", kind: ArchiveTar, data: makeTar(t, []entry{{name: "h", kind: 'h', link: "../outside"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "h" refused: hard link target "../outside" is outside the folder`},
		{name: "tar hard link absolute", kind: ArchiveTar, data: makeTar(t, []entry{{name: "h", kind: 'h', link: "/etc/passwd"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "h" refused: hard link target "/etc/passwd" is outside the folder`},
		{name: "tar hard link to nothing", kind: ArchiveTar, data: makeTar(t, []entry{{name: "h", kind: 'h', link: "later"}, {name: "later", kind: 'f'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "h" refused: hard link target "later" is not a regular file extracted before it`},
		{name: "tar hard link to symlink", kind: ArchiveTar, data: makeTar(t, []entry{{name: "s", kind: 'l', link: "x"}, {name: "h", kind: 'h', link: "s"}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "h" refused: hard link target "s" is not a regular file extracted before it`},
		{name: "tar hard link through symlink", kind: ArchiveTar, data: makeTar(t, []entry{
			{name: "d/f", kind: 'f', body: "x"},
			{name: "s", kind: 'l', link: "d"},
			{name: "h", kind: 'h', link: "s/f"},
		}), wantIs: ErrUnsafeEntry, wantErr: `archive entry "h" refused: parent "s" is a symbolic link`},

		// Special files.
		{name: "tar char device", kind: ArchiveTar, data: makeTar(t, []entry{{name: "null", kind: 'c'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "null" refused: character device (only regular files, folders and links are allowed)`},
		{name: "tar block device", kind: ArchiveTar, data: makeTar(t, []entry{{name: "sda", kind: 'b'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "sda" refused: block device (only regular files, folders and links are allowed)`},
		{name: "tar fifo", kind: ArchiveTar, data: makeTar(t, []entry{{name: "pipe", kind: 'p'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "pipe" refused: named pipe (only regular files, folders and links are allowed)`},
		{name: "zip char device", kind: ArchiveZip, data: makeZip(t, []entry{{name: "null", kind: 'c'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "null" refused: character device (only regular files, folders and links are allowed)`},
		{name: "zip fifo", kind: ArchiveZip, data: makeZip(t, []entry{{name: "pipe", kind: 'p'}}),
			wantIs: ErrUnsafeEntry, wantErr: `archive entry "pipe" refused: named pipe (only regular files, folders and links are allowed)`},

		// Limits.
		{name: "zip too many entries", kind: ArchiveZip, lim: small, data: makeZip(t, []entry{
			{name: "1", kind: 'f'}, {name: "2", kind: 'f'}, {name: "3", kind: 'f'}, {name: "4", kind: 'f'}, {name: "5", kind: 'f'}, {name: "6", kind: 'f'},
		}), wantIs: ErrTooLarge, wantErr: `archive refused: more than 5 entries`},
		{name: "tar too many entries", kind: ArchiveTar, lim: small, data: makeTar(t, []entry{
			{name: "d/", kind: 'd'}, {name: "1", kind: 'f'}, {name: "2", kind: 'f'}, {name: "3", kind: 'f'}, {name: "4", kind: 'f'}, {name: "5", kind: 'f'},
		}), wantIs: ErrTooLarge, wantErr: `archive refused: more than 5 entries`},
		{name: "zip bomb", kind: ArchiveZip, lim: small, data: makeZip(t, []entry{{name: "zeros", kind: 'f', body: zeros(8 << 20)}}),
			wantIs: ErrTooLarge, wantErr: `archive entry "zeros" refused: 8388608 bytes, over the limit of 524288 bytes for one file`},
		{name: "zip bomb of many files", kind: ArchiveZip, lim: small, data: makeZip(t, []entry{
			{name: "1", kind: 'f', body: zeros(400 << 10)}, {name: "2", kind: 'f', body: zeros(400 << 10)}, {name: "3", kind: 'f', body: zeros(400 << 10)},
		}), wantIs: ErrTooLarge, wantErr: `archive refused: uncompressed size over the limit of 1048576 bytes`},
		{name: "zip lying about its size", kind: ArchiveZip, lim: small, data: makeZip(t, []entry{{name: "liar", kind: 'f', body: zeros(4 << 20), size: 10}}),
			wantErr: `archive entry "liar": zip: not a valid zip file`},
		{name: "tar.gz bomb", kind: ArchiveTar, lim: small, data: gzipData(t, makeTar(t, []entry{{name: "zeros", kind: 'f', body: zeros(8 << 20)}})),
			wantIs: ErrTooLarge, wantErr: `archive entry "zeros" refused: 8388608 bytes, over the limit of 524288 bytes for one file`},
		{name: "tar.xz over total", kind: ArchiveTar, lim: small, data: xzData(t, makeTar(t, []entry{
			{name: "1", kind: 'f', body: zeros(400 << 10)}, {name: "2", kind: 'f', body: zeros(400 << 10)}, {name: "3", kind: 'f', body: zeros(400 << 10)},
		})), wantIs: ErrTooLarge, wantErr: `archive refused: uncompressed size over the limit of 1048576 bytes`},

		// Not archives.
		{name: "not a zip", kind: ArchiveZip, data: []byte("def foo(): pass\n"), wantErr: "read zip archive: zip: not a valid zip file"},
		{name: "not a tar", kind: ArchiveTar, data: []byte("def foo(): pass\n"), wantErr: "read tar archive: unexpected EOF"},
		{name: "broken gzip", kind: ArchiveTar, data: []byte{0x1f, 0x8b, 0x08, 0x00}, wantErr: "read gzip stream: unexpected EOF"},
		{name: "empty tar", kind: ArchiveTar, data: make([]byte, 1024), wantErr: "read tar archive: no entries (is it a tar archive?)"},
		{name: "not an archive kind", kind: ArchiveNone, data: []byte("x"), wantErr: `extract: "" is not an archive kind`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), "work")
			if err := os.Mkdir(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(parent, "fn")
			err := Extract(tt.data, tt.kind, target, tt.lim)
			if err == nil {
				t.Fatalf("Extract succeeded, want error %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Extract error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Extract error %q is not %v", err, tt.wantIs)
			}
			// Nothing half-built: the parent folder is as empty as before,
			// and nothing appeared beside it.
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				var names []string
				for _, e := range left {
					names = append(names, e.Name())
				}
				sort.Strings(names)
				t.Errorf("left behind in the parent folder: %v", names)
			}
			if above, _ := os.ReadDir(filepath.Dir(parent)); len(above) != 1 {
				t.Errorf("something was written beside the parent folder: %d entries", len(above))
			}
		})
	}
}

func TestExtractTargetExists(t *testing.T) {
	target := t.TempDir()
	err := Extract(makeZip(t, goodEntries), ArchiveZip, target, Limits{})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Extract into an existing folder: error = %v, want already exists", err)
	}
}
