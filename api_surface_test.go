package mixin_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// publicAPI parses the non-test files of the package in dir.
func publicAPI(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// foreignTypes lists the selector types in expr whose package is neither
// the standard library nor this module.
func foreignTypes(f *ast.File, expr ast.Node) []string {
	imports := map[string]string{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = path
	}
	var out []string
	ast.Inspect(expr, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			path := imports[id.Name]
			first := strings.Split(path, "/")[0]
			if strings.Contains(first, ".") && !strings.HasPrefix(path, "github.com/gomixin/mixin") {
				out = append(out, path+"."+sel.Sel.Name)
			}
		}
		return true
	})
	return out
}

// eachExported calls fn with every exported function, method, type (its
// exported fields only), variable and constant of f, and the node that is
// its API: a signature, a type, a value.
func eachExported(f *ast.File, fn func(name string, n ast.Node)) {
	check := func(name string, n ast.Node) {
		if n != nil {
			fn(name, n)
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
				continue
			}
			check(d.Name.Name, d.Type)
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					if sp.Name.IsExported() {
						check(sp.Name.Name, exportedParts(sp.Type))
					}
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						if n.IsExported() {
							check(n.Name, sp.Type)
							for _, v := range sp.Values {
								check(n.Name, v)
							}
						}
					}
				}
			}
		}
	}
}

// The public API (exported functions, methods, types, fields, variables
// and constants) names no third-party type: resty, gorilla/websocket,
// golang-jwt and google/uuid stay implementation details (issue 12).
func TestPublicAPINamesNoThirdPartyType(t *testing.T) {
	for _, dir := range []string{".", "mixintest"} {
		for _, f := range publicAPI(t, dir) {
			eachExported(f, func(name string, n ast.Node) {
				for _, ft := range foreignTypes(f, n) {
					t.Errorf("%s: %s exposes %s", dir, name, ft)
				}
			})
		}
	}
}

// No exported signature, field or type of the root package is any (or
// interface{}): payloads are the sealed Payload interface and unknown ones
// a RawPayload of bytes (issue 12). mixintest follows the same rule.
func TestPublicAPIHasNoAny(t *testing.T) {
	for _, dir := range []string{".", "mixintest", "otelmixin"} {
		for _, f := range publicAPI(t, dir) {
			eachExported(f, func(name string, n ast.Node) {
				ast.Inspect(n, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.Ident:
						if n.Name == "any" {
							t.Errorf("%s: %s has any in its API", dir, name)
						}
					case *ast.InterfaceType:
						if len(n.Methods.List) == 0 {
							t.Errorf("%s: %s has interface{} in its API", dir, name)
						}
					}
					return true
				})
			})
		}
	}
}

func exportedRecv(fl *ast.FieldList) bool {
	t := fl.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// exportedParts drops the unexported fields of a struct type (they are not
// API); other types are kept whole.
func exportedParts(t ast.Expr) ast.Node {
	st, ok := t.(*ast.StructType)
	if !ok {
		return t
	}
	kept := &ast.FieldList{}
	for _, f := range st.Fields.List {
		exported := len(f.Names) == 0 // embedded: its type is the API
		for _, n := range f.Names {
			exported = exported || n.IsExported()
		}
		if exported {
			kept.List = append(kept.List, f)
		}
	}
	return &ast.StructType{Fields: kept}
}

// No package-level mutable state: the only exported variables of the root
// package and mixintest are sentinel errors made with errors.New.
func TestNoExportedMutableState(t *testing.T) {
	for _, dir := range []string{".", "mixintest", "otelmixin"} {
		for _, f := range publicAPI(t, dir) {
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, sp := range gd.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if !n.IsExported() {
							continue
						}
						if !strings.HasPrefix(n.Name, "Err") || i >= len(vs.Values) || !isErrorsNew(vs.Values[i]) {
							t.Errorf("%s: exported variable %s is package-level mutable state", dir, n.Name)
						}
					}
				}
			}
		}
	}
}

func isErrorsNew(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "errors" && sel.Sel.Name == "New"
}
