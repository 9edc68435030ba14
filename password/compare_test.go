package password

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyComparesInConstantTime guards the one comparison of secret
// material in this package: Verify must compare derived keys with
// crypto/subtle, and no code here may compare bytes in a way that stops at
// the first difference.
func TestVerifyComparesInConstantTime(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var verifyCompares bool
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "mkblocklist.go" {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				switch callee(call) {
				case "bytes.Equal", "bytes.Compare", "reflect.DeepEqual", "slices.Equal":
					t.Errorf("%s: %s compares without constant time", fset.Position(call.Pos()), callee(call))
				}
			}
			fn, ok := n.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "Verify" || fn.Recv == nil {
				return true
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok && callee(call) == "subtle.ConstantTimeCompare" {
					verifyCompares = true
				}
				return true
			})
			return true
		})
	}
	if !verifyCompares {
		t.Fatal("(*Hasher).Verify does not call subtle.ConstantTimeCompare")
	}
}

func callee(call *ast.CallExpr) string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	return pkg.Name + "." + sel.Sel.Name
}
