package hearth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is how long a function may be before its doc comment must
// say why it is kept whole (with the words "over 80 lines").
const maxFuncLines = 80

// TestLongFunctionsSayWhy: a non-test function over maxFuncLines lines is
// split along its seams, or its comment gives the reason it is not
// (issue #12).
func TestLongFunctionsSayWhy(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "." && (strings.HasPrefix(n, ".") || n == "node_modules" || n == "testdata" || path == filepath.Join("webui", "app")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if lines > maxFuncLines && !strings.Contains(fd.Doc.Text(), "over 80 lines") {
				t.Errorf("%s: %s is %d lines: split it, or say why not in its comment (\"kept whole (over 80 lines): ...\")", fset.Position(fd.Pos()), fd.Name.Name, lines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
