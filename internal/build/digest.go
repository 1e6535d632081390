package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A built folder's content digest is recorded beside it, in
// <key>.sha256, when the build ends; a cache hit is used only if the folder
// still has that digest. A folder changed since (by a function that could
// write to it, or by hand) is rebuilt. The digest covers every entry's
// relative path, type, permission bits and content (a link's target).

func digestPath(dir string) string { return dir + ".sha256" }

// treeDigest returns the digest of the tree at dir.
func treeDigest(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %s\n", filepath.ToSlash(rel), info.Mode().String())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q\n", target)
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			n, err := io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "\n%d bytes\n", n)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// recordDigest writes the digest of the tree at dir to the file of final.
func recordDigest(dir, final string) error {
	sum, err := treeDigest(dir)
	if err != nil {
		return fmt.Errorf("digest of the build: %w", err)
	}
	return os.WriteFile(digestPath(final), []byte(sum+"\n"), 0o644)
}

// errTampered: a cached folder no longer has the digest recorded for it.
var errTampered = errors.New("content differs from the digest recorded when it was built")

// verifyDigest checks the tree at dir against its recorded digest.
func verifyDigest(dir string) error {
	want, err := os.ReadFile(digestPath(dir))
	if err != nil {
		return fmt.Errorf("no recorded digest: %w", err)
	}
	got, err := treeDigest(dir)
	if err != nil {
		return err
	}
	if got != strings.TrimSpace(string(want)) {
		return errTampered
	}
	return nil
}
