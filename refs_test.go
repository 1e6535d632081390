package kubeless

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// A reader of the repository must be able to follow every reference without
// leaving the clone: the project's own documents are docs/*.md,
// ARCHITECTURE.md and CONTRIBUTING.md.
var outsideRefs = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\.\./shared\b|\bshared/spec\b`), "a folder outside the repository"},
	{regexp.MustCompile(`kubeless-` + `reference\.md`), "a document that is not in the repository: cite docs/compatibility.md"},
	{regexp.MustCompile(`\bSTYLE` + `\.md`), "a document that is not in the repository: cite ARCHITECTURE.md or CONTRIBUTING.md"},
	{regexp.MustCompile("(?:^|[\\s\"'`(=:,\\[])/work/"), "an absolute path of one machine"},
	{regexp.MustCompile(`\breference §`), "the original's reference, which is not in the repository: cite docs/compatibility.md"},
}

// contractRef is a mention of the contract's file name; outside docs/ it
// must be the path docs/runtime-contract.md.
var contractRef = regexp.MustCompile(`(?:[\w./-]*/)?runtime-contract\.md`)

// mdLink is an inline markdown link or image: [text](target).
var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

func TestNoReferenceOutsideRepository(t *testing.T) {
	files := trackedFiles(t)
	if len(files) < 50 {
		t.Fatalf("found only %d files: the listing is broken", len(files))
	}
	for _, f := range files {
		if f == "refs_test.go" {
			continue // the patterns themselves
		}
		b, err := os.ReadFile(filepath.FromSlash(f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue // binary
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, r := range outsideRefs {
				if m := r.re.FindString(line); m != "" {
					t.Errorf("%s:%d: %q refers to %s", f, i+1, strings.TrimSpace(m), r.why)
				}
			}
			if !strings.HasPrefix(f, "docs/") {
				for _, m := range contractRef.FindAllString(line, -1) {
					if m != "docs/runtime-contract.md" && !strings.HasSuffix(m, "/docs/runtime-contract.md") {
						t.Errorf("%s:%d: %q: cite the contract as docs/runtime-contract.md", f, i+1, m)
					}
				}
			}
		}
		if strings.HasSuffix(f, ".md") {
			checkLinks(t, f, string(b))
		}
	}
}

// checkLinks checks that every relative link of the markdown file f names a
// file of the repository and, with a #fragment, a heading of that file.
func checkLinks(t *testing.T, f, text string) {
	t.Helper()
	inFence := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			where := f
			if file != "" {
				if strings.HasPrefix(file, "/") {
					t.Errorf("%s:%d: link %q is an absolute path: make it relative to %s", f, i+1, target, path.Dir(f))
					continue
				}
				where = path.Join(path.Dir(f), file)
				if where == ".." || strings.HasPrefix(where, "../") {
					t.Errorf("%s:%d: link %q leaves the repository", f, i+1, target)
					continue
				}
				if _, err := os.Stat(filepath.FromSlash(where)); err != nil {
					t.Errorf("%s:%d: link %q: no file %s in the repository", f, i+1, target, where)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(where, ".md") {
				b, err := os.ReadFile(filepath.FromSlash(where))
				if err != nil {
					t.Fatal(err)
				}
				if !headingAnchors(string(b))[frag] {
					t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s", f, i+1, target, where, frag)
				}
			}
		}
	}
}

// headingAnchors returns the anchors a markdown renderer gives the headings
// of text: lower case, punctuation dropped, spaces made hyphens.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

// trackedFiles lists the repository's files: git's index when this is a
// clone, otherwise the tree minus what .gitignore leaves out.
func trackedFiles(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("git", "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			files = append(files, f)
		}
		return files
	}
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != "." && (strings.HasPrefix(name, ".") && name != ".ci" || name == "bin" || name == "node_modules" || name == "vendor" || name == "__pycache__") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestHeadingAnchors pins the anchor rule the link check relies on.
func TestHeadingAnchors(t *testing.T) {
	a := headingAnchors("# Title\n## 7.2 Metrics\n```\n# not a heading\n```\n### 4. Design decisions (dated)\n")
	for _, want := range []string{"title", "72-metrics", "4-design-decisions-dated"} {
		if !a[want] {
			t.Errorf("no anchor %q in %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Errorf("a line of a code block became an anchor: %v", a)
	}
}
