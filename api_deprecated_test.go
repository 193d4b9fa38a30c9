package mixin_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// Deprecated names exist for code outside the module, until 1.0: each is a
// one-line alias of a live name, and nothing in the module uses one.

// declared lists a package's names: package-level names, and methods as
// Type.Method; deprecated ones map to their replacement.
type declared struct {
	names      map[string]bool   // every package-level name and Type.Method
	deprecated map[string]string // deprecated name → replacement
	problems   []string          // deprecated declarations that are not aliases
}

// Every deprecated name is a one-line alias of a live replacement in
// its package: a type alias, a constant equal to it, or a function or
// method calling it with the same arguments.
func checkDeprecatedAliases(p apiPackage) []string {
	d := declarations(p)
	out := d.problems
	for _, old := range sortedKeys(d.deprecated) {
		use := d.deprecated[old]
		target := use
		if typ, _, ok := strings.Cut(old, "."); ok {
			target = typ + "." + use
		}
		switch {
		case use == "":
			out = append(out, old+": say \"Deprecated: use X.\"")
		case !d.names[target]:
			out = append(out, old+": its replacement "+target+" does not exist")
		case d.deprecated[target] != "":
			out = append(out, old+": its replacement "+target+" is deprecated too")
		}
	}
	return out
}

func declarations(p apiPackage) declared {
	d := declared{names: map[string]bool{}, deprecated: map[string]string{}}
	for _, f := range p.files {
		for _, decl := range f.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				name := decl.Name.Name
				if decl.Recv != nil {
					name = recvTypeName(decl.Recv) + "." + name
				}
				d.names[name] = true
				if use, dep := deprecation(decl.Doc); dep {
					d.deprecated[name] = use
					if !forwards(decl, recvParamName(decl), use) {
						d.problems = append(d.problems, name+": a deprecated function is one line calling "+use)
					}
				}
			case *ast.GenDecl:
				d.specs(decl)
			}
		}
	}
	return d
}

func (d *declared) specs(gd *ast.GenDecl) {
	for _, sp := range gd.Specs {
		switch sp := sp.(type) {
		case *ast.TypeSpec:
			d.names[sp.Name.Name] = true
			if use, dep := deprecation(specDoc(gd, sp.Doc)); dep {
				d.deprecated[sp.Name.Name] = use
				if !sp.Assign.IsValid() || !isIdent(sp.Type, use) {
					d.problems = append(d.problems, sp.Name.Name+": a deprecated type is an alias, = "+use)
				}
			}
		case *ast.ValueSpec:
			use, dep := deprecation(specDoc(gd, sp.Doc))
			for i, n := range sp.Names {
				d.names[n.Name] = true
				if !dep {
					continue
				}
				d.deprecated[n.Name] = use
				if gd.Tok != token.CONST || sp.Type != nil || i >= len(sp.Values) || !isIdent(sp.Values[i], use) {
					d.problems = append(d.problems, n.Name+": a deprecated constant is = "+use)
				}
			}
		}
	}
}

// moduleFile is one Go file of the module, parsed.
type moduleFile struct {
	path string
	fset *token.FileSet
	file *ast.File
}

// moduleFiles parses every Go file of the module but testdata.
func moduleFiles() ([]moduleFile, error) {
	fset := token.NewFileSet()
	var out []moduleFile
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			return err
		}
		out = append(out, moduleFile{path, fset, f})
		return nil
	})
	return out, err
}

// checkNoDeprecatedUses reports every use of a deprecated name of pkgs (by
// import path) in files: staticcheck's SA1019 does not see uses inside the
// package that declares them, nor in its external tests. A method is
// matched by name at a call, when no other type of files declares it.
func checkNoDeprecatedUses(pkgs map[string]apiPackage, files []moduleFile) []string {
	const module = "github.com/gomixin/mixin"
	deps := map[string]declared{}
	for path, p := range pkgs {
		deps[path] = declarations(p)
	}
	methods := deprecatedMethods(deps, files)
	var out []string
	for _, mf := range files {
		if filepath.Base(mf.path) == "deprecated.go" {
			continue
		}
		imports := importNames(mf.file)
		own := module
		if dir := filepath.ToSlash(filepath.Dir(mf.path)); dir != "." {
			own += "/" + dir
		}
		_, inPkg := deps[own]
		inPkg = inPkg && mf.file.Name.Name == pkgs[own].files[0].Name.Name
		report := func(n ast.Node, what string) {
			out = append(out, mf.fset.Position(n.Pos()).String()+": "+what+" is deprecated")
		}
		declaring := declaringIdents(mf.file)
		ast.Inspect(mf.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					if d, ok := deps[imports[x.Name]]; ok && d.deprecated[n.Sel.Name] != "" {
						report(n, x.Name+"."+n.Sel.Name)
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && methods[sel.Sel.Name] {
					report(n, "method "+sel.Sel.Name)
				}
			case *ast.Ident:
				if inPkg && !declaring[n] && deps[own].deprecated[n.Name] != "" {
					report(n, n.Name)
				}
			}
			return true
		})
	}
	return out
}

// deprecatedMethods are the names of deprecated methods that no other
// method of files shares.
func deprecatedMethods(deps map[string]declared, files []moduleFile) map[string]bool {
	out := map[string]bool{}
	for _, d := range deps {
		for name := range d.deprecated {
			if _, m, ok := strings.Cut(name, "."); ok {
				out[m] = true
			}
		}
	}
	for _, mf := range files {
		for _, decl := range mf.file.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv != nil && out[fd.Name.Name] {
				if _, dep := deprecation(fd.Doc); !dep {
					delete(out, fd.Name.Name) // a live method shares the name: cannot tell
				}
			}
		}
	}
	return out
}

func importNames(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		out[name] = path
	}
	return out
}

// declaringIdents are the identifiers of f that name rather than use:
// selectors, declared names, fields, parameters, composite literal keys,
// labels.
func declaringIdents(f *ast.File) map[*ast.Ident]bool {
	out := map[*ast.Ident]bool{f.Name: true}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			out[n.Sel] = true
		case *ast.FuncDecl:
			out[n.Name] = true
		case *ast.TypeSpec:
			out[n.Name] = true
		case *ast.ValueSpec:
			for _, id := range n.Names {
				out[id] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				out[id] = true
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok {
				out[id] = true
			}
		case *ast.LabeledStmt:
			out[n.Label] = true
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						out[id] = true
					}
				}
			}
		}
		return true
	})
	return out
}
