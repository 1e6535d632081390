package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"
)

// Default limits of Extract, used for each zero field of Limits.
const (
	DefaultMaxTotalSize int64 = 512 << 20 // 512 MiB uncompressed in all
	DefaultMaxEntries         = 10000
	DefaultMaxFileSize  int64 = 256 << 20 // 256 MiB for one file
)

// Limits bound what Extract writes, so that an archive bomb fails before it
// fills the disk. A zero field takes its default (DefaultMaxTotalSize,
// DefaultMaxEntries, DefaultMaxFileSize).
type Limits struct {
	// MaxTotalSize is the largest sum of the sizes of the regular files.
	MaxTotalSize int64
	// MaxEntries is the largest number of entries (files, folders, links).
	MaxEntries int
	// MaxFileSize is the largest size of one regular file.
	MaxFileSize int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	return l
}

var (
	// ErrUnsafeEntry is wrapped by the errors of Extract for an entry that
	// would write outside the target folder or is not a regular file, a
	// folder or a link inside the folder.
	ErrUnsafeEntry = errors.New("unsafe archive entry")
	// ErrTooLarge is wrapped by the errors of Extract for an archive over
	// one of its Limits.
	ErrTooLarge = errors.New("archive over the size limits")
)

// ExtractError is the error of Extract for a refused archive. It unwraps to
// ErrUnsafeEntry or ErrTooLarge.
type ExtractError struct {
	// Entry is the archive entry's name as stored in the archive, or "" when
	// the archive as a whole is refused.
	Entry  string
	Reason string
	Kind   error
}

func (e *ExtractError) Error() string {
	if e.Entry == "" {
		return "archive refused: " + e.Reason
	}
	return fmt.Sprintf("archive entry %q refused: %s", e.Entry, e.Reason)
}

func (e *ExtractError) Unwrap() error { return e.Kind }

func unsafeEntry(name, format string, args ...any) error {
	return &ExtractError{Entry: name, Reason: fmt.Sprintf(format, args...), Kind: ErrUnsafeEntry}
}

func tooLarge(name, format string, args ...any) error {
	return &ExtractError{Entry: name, Reason: fmt.Sprintf(format, args...), Kind: ErrTooLarge}
}

// Extract extracts the archive in data into the folder target, which must
// not exist yet (its parent must). kind is ArchiveZip or ArchiveTar; a tar
// may be plain or compressed with gzip, bzip2 or xz (told apart by their
// magic bytes, as GNU tar does).
//
// The archive is written into a temporary folder beside target, which is
// renamed to target only when every entry was extracted: on error nothing is
// left behind. Refused, with an *ExtractError:
//
//   - names that are absolute, contain a ".." element or a NUL byte;
//   - entries below a symbolic link of the archive (nothing is written
//     through a link);
//   - symbolic links that are absolute or resolve, through the archive's
//     other links, to a place outside the folder, and links in a loop;
//   - hard links to anything but a regular file extracted before them;
//   - device files, FIFOs, sparse files and other special entries;
//   - a second entry with the name of an earlier file or link;
//   - archives over lim: more entries, a larger file or a larger sum of
//     file sizes. For a zip the sizes in its directory are checked before
//     anything is written, and the bytes really written are counted too.
//
// File permissions come from the archive without the group and world write
// bits and the special bits, and the owner can always read and write;
// folders are 0755.
func Extract(data []byte, kind Archive, target string, lim Limits) (err error) {
	lim = lim.withDefaults()
	if kind != ArchiveZip && kind != ArchiveTar {
		return fmt.Errorf("extract: %q is not an archive kind", string(kind))
	}
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("extract into %s: already exists", target)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("extract into %s: %w", target, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(target), "."+filepath.Base(target)+".extract-")
	if err != nil {
		return fmt.Errorf("extract into %s: %w", target, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("extract into %s: %w", target, err)
	}
	x := &extractor{root: root, lim: lim, kinds: map[string]entryKind{}, links: map[string]string{}}
	if kind == ArchiveZip {
		err = x.zip(data)
	} else {
		err = x.tar(data)
	}
	if err == nil {
		err = x.checkLinks()
	}
	if cerr := root.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("extract into %s: %w", target, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("extract into %s: %w", target, err)
	}
	return nil
}

type entryKind int

const (
	kindDir entryKind = iota + 1
	kindFile
	kindSymlink
)

// maxLinkTarget bounds the size of a zip symlink's target (its content).
const maxLinkTarget = 4096

type extractor struct {
	root    *os.Root
	lim     Limits
	entries int
	total   int64
	kinds   map[string]entryKind // cleaned name → what was extracted there
	links   map[string]string    // cleaned name of a symlink → its target
}

// clean turns an archive entry name into a relative slash path without "."
// elements. It returns "" for the folder itself.
func clean(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", unsafeEntry(name, "name contains a NUL byte")
	}
	if strings.HasPrefix(name, "/") {
		return "", unsafeEntry(name, "absolute path")
	}
	var elems []string
	for _, e := range strings.Split(name, "/") {
		switch e {
		case "", ".":
		case "..":
			return "", unsafeEntry(name, `path contains ".."`)
		default:
			elems = append(elems, e)
		}
	}
	return strings.Join(elems, "/"), nil
}

// checkParents refuses an entry below a link or a file of the archive.
func (x *extractor) checkParents(raw, name string) error {
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		switch x.kinds[dir] {
		case kindSymlink:
			return unsafeEntry(raw, "parent %q is a symbolic link", dir)
		case kindFile:
			return unsafeEntry(raw, "parent %q is a file", dir)
		}
	}
	return nil
}

func (x *extractor) count() error {
	x.entries++
	if x.entries > x.lim.MaxEntries {
		return tooLarge("", "more than %d entries", x.lim.MaxEntries)
	}
	return nil
}

func (x *extractor) mkdirParents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	if err := x.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for ; dir != "."; dir = path.Dir(dir) {
		x.kinds[dir] = kindDir
	}
	return nil
}

func (x *extractor) dir(raw string) error {
	name, err := clean(raw)
	if err != nil || name == "" {
		return err
	}
	if err := x.checkParents(raw, name); err != nil {
		return err
	}
	switch x.kinds[name] {
	case kindDir:
		return nil
	case kindFile, kindSymlink:
		return unsafeEntry(raw, "duplicate entry")
	}
	if err := x.root.MkdirAll(name, 0o755); err != nil {
		return err
	}
	for d := name; d != "."; d = path.Dir(d) {
		x.kinds[d] = kindDir
	}
	return nil
}

// prepare validates a file or link entry and creates its parent folders.
func (x *extractor) prepare(raw string) (string, error) {
	name, err := clean(raw)
	if err != nil {
		return "", err
	}
	if name == "" {
		return "", unsafeEntry(raw, "a file entry names the folder itself")
	}
	if err := x.checkParents(raw, name); err != nil {
		return "", err
	}
	if x.kinds[name] != 0 {
		return "", unsafeEntry(raw, "duplicate entry")
	}
	if err := x.mkdirParents(name); err != nil {
		return "", err
	}
	return name, nil
}

func filePerm(m fs.FileMode) fs.FileMode {
	return (m.Perm() &^ 0o022) | 0o600
}

// file writes a regular file; declared is the size the archive states.
func (x *extractor) file(raw string, declared int64, perm fs.FileMode, r io.Reader) error {
	if declared > x.lim.MaxFileSize {
		return tooLarge(raw, "%d bytes, over the limit of %d bytes for one file", declared, x.lim.MaxFileSize)
	}
	if declared > x.lim.MaxTotalSize-x.total {
		return tooLarge("", "uncompressed size over the limit of %d bytes", x.lim.MaxTotalSize)
	}
	name, err := x.prepare(raw)
	if err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm(perm))
	if err != nil {
		return err
	}
	room := min(x.lim.MaxFileSize, x.lim.MaxTotalSize-x.total)
	n, err := io.Copy(f, io.LimitReader(r, room+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive entry %q: %w", raw, err)
	}
	if n > room {
		if n > x.lim.MaxFileSize {
			return tooLarge(raw, "more than %d bytes, over the limit for one file", x.lim.MaxFileSize)
		}
		return tooLarge("", "uncompressed size over the limit of %d bytes", x.lim.MaxTotalSize)
	}
	x.total += n
	x.kinds[name] = kindFile
	return nil
}

func (x *extractor) symlink(raw, target string) error {
	name, err := x.prepare(raw)
	if err != nil {
		return err
	}
	switch {
	case target == "":
		return unsafeEntry(raw, "symbolic link with an empty target")
	case strings.ContainsRune(target, 0):
		return unsafeEntry(raw, "symbolic link target contains a NUL byte")
	case strings.HasPrefix(target, "/"):
		return unsafeEntry(raw, "symbolic link target %q is absolute", target)
	}
	if j := path.Join(path.Dir(name), target); j == ".." || strings.HasPrefix(j, "../") {
		return unsafeEntry(raw, "symbolic link target %q points outside the folder", target)
	}
	if err := x.root.Symlink(target, name); err != nil {
		return err
	}
	x.kinds[name] = kindSymlink
	x.links[name] = target
	return nil
}

func (x *extractor) hardlink(raw, target string) error {
	name, err := x.prepare(raw)
	if err != nil {
		return err
	}
	old, err := clean(target)
	if err != nil {
		return unsafeEntry(raw, "hard link target %q is outside the folder", target)
	}
	if err := x.checkParents(raw, old); err != nil {
		return err
	}
	if x.kinds[old] != kindFile {
		return unsafeEntry(raw, "hard link target %q is not a regular file extracted before it", target)
	}
	if err := x.root.Link(old, name); err != nil {
		return err
	}
	x.kinds[name] = kindFile
	return nil
}

// checkLinks resolves every symbolic link through the extracted tree and
// refuses those that leave it (for example "a" -> "." then "b" -> "a/..")
// or loop.
func (x *extractor) checkLinks() error {
	for name := range x.links {
		if err := x.resolve(name); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) resolve(link string) error {
	var stack []string
	if d := path.Dir(link); d != "." {
		stack = strings.Split(d, "/")
	}
	pending := strings.Split(x.links[link], "/")
	hops := 0
	for len(pending) > 0 {
		e := pending[0]
		pending = pending[1:]
		switch e {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return unsafeEntry(link, "symbolic link target %q resolves outside the folder", x.links[link])
			}
			stack = stack[:len(stack)-1]
			continue
		}
		p := strings.Join(append(stack[:len(stack):len(stack)], e), "/")
		if t, ok := x.links[p]; ok {
			hops++
			if hops > 40 {
				return unsafeEntry(link, "symbolic links in a loop")
			}
			pending = append(strings.Split(t, "/"), pending...)
			continue
		}
		stack = append(stack, e)
	}
	return nil
}

func (x *extractor) zip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if errors.Is(err, zip.ErrInsecurePath) {
		err = nil // GODEBUG=zipinsecurepath=0; each name is checked below anyway
	}
	if err != nil {
		return fmt.Errorf("read zip archive: %w", err)
	}
	if len(zr.File) > x.lim.MaxEntries {
		return tooLarge("", "more than %d entries", x.lim.MaxEntries)
	}
	var sum uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > uint64(x.lim.MaxFileSize) {
			return tooLarge(f.Name, "%d bytes, over the limit of %d bytes for one file", f.UncompressedSize64, x.lim.MaxFileSize)
		}
		if !f.Mode().IsDir() {
			sum += f.UncompressedSize64
		}
		if sum > uint64(x.lim.MaxTotalSize) {
			return tooLarge("", "uncompressed size over the limit of %d bytes", x.lim.MaxTotalSize)
		}
	}
	for _, f := range zr.File {
		if err := x.zipEntry(f); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) zipEntry(f *zip.File) error {
	// Archivers on Windows may write "\" as the separator; unzip reads it
	// as "/", and so do we.
	raw := strings.ReplaceAll(f.Name, `\`, "/")
	if err := x.count(); err != nil {
		return err
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return x.dir(raw)
	case mode&fs.ModeSymlink != 0:
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", f.Name, err)
		}
		target, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", f.Name, err)
		}
		if len(target) > maxLinkTarget {
			return unsafeEntry(f.Name, "symbolic link target longer than %d bytes", maxLinkTarget)
		}
		return x.symlink(raw, string(target))
	case mode.IsRegular():
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", f.Name, err)
		}
		defer rc.Close()
		return x.file(raw, int64(f.UncompressedSize64), mode, rc)
	default:
		return unsafeEntry(f.Name, "%s (only regular files, folders and links are allowed)", describeMode(mode))
	}
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file " + m.String()
}

// decompress returns a reader of the tar stream in data, told apart by the
// compression format's magic bytes.
func decompress(data []byte) (io.Reader, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("read gzip stream: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(data, []byte("BZh")):
		return bzip2.NewReader(bytes.NewReader(data)), nil
	case bytes.HasPrefix(data, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		xr, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("read xz stream: %w", err)
		}
		return xr, nil
	}
	return bytes.NewReader(data), nil
}

func (x *extractor) tar(data []byte) error {
	r, err := decompress(data)
	if err != nil {
		return err
	}
	tr := tar.NewReader(bufio.NewReader(r))
	for {
		h, err := tr.Next()
		if errors.Is(err, tar.ErrInsecurePath) {
			err = nil // GODEBUG=tarinsecurepath=0; each name is checked below anyway
		}
		if errors.Is(err, io.EOF) {
			if x.entries == 0 {
				return errors.New("read tar archive: no entries (is it a tar archive?)")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar archive: %w", err)
		}
		if err := x.tarEntry(tr, h); err != nil {
			return err
		}
	}
}

func (x *extractor) tarEntry(tr *tar.Reader, h *tar.Header) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if err := x.count(); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return x.dir(h.Name)
	case tar.TypeReg, tar.TypeRegA: // old archives still write TypeRegA
		return x.file(h.Name, h.Size, fs.FileMode(h.Mode), tr)
	case tar.TypeSymlink:
		return x.symlink(h.Name, h.Linkname)
	case tar.TypeLink:
		return x.hardlink(h.Name, h.Linkname)
	case tar.TypeChar:
		return unsafeEntry(h.Name, "character device (only regular files, folders and links are allowed)")
	case tar.TypeBlock:
		return unsafeEntry(h.Name, "block device (only regular files, folders and links are allowed)")
	case tar.TypeFifo:
		return unsafeEntry(h.Name, "named pipe (only regular files, folders and links are allowed)")
	case tar.TypeGNUSparse:
		return unsafeEntry(h.Name, "sparse file (not supported)")
	default:
		return unsafeEntry(h.Name, "unsupported entry type %q", string(h.Typeflag))
	}
}
