package conformance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestClausesAreDocumented checks that every clause number the suite prints
// is a numbered heading of docs/runtime-contract.md, the contract's text, so
// that a FAIL line can be looked up.
func TestClausesAreDocumented(t *testing.T) {
	ids := suiteClauses(t)
	if len(ids) < 10 {
		t.Fatalf("found only %d clause ids in the suite's source (%v): the parser no longer sees the s.check calls", len(ids), ids)
	}
	doc, err := os.ReadFile(filepath.FromSlash("../../docs/runtime-contract.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{2,4} ([0-9]+(?:\.[0-9]+)*)\.? `).FindAllStringSubmatch(string(doc), -1) {
		headings[m[1]] = true
	}
	for id, where := range ids {
		if !headings[id] {
			t.Errorf("clause %s (checked at %s) has no heading \"### %s …\" in docs/runtime-contract.md: document it there", id, where, id)
		}
	}
}

// suiteClauses returns the first argument of every s.check("N.M", …) call in
// the package's non-test files, with where it is.
func suiteClauses(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	ids := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "check" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: check called with a clause that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			id, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			ids[id] = fset.Position(call.Pos()).String()
			return true
		})
	}
	return ids
}
