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
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution|parser.ParseComments)
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

// loadNamed parses the public packages the naming rules hold, by import
// path.
func loadNamed(t *testing.T) map[string]apiPackage {
	t.Helper()
	out := map[string]apiPackage{}
	for _, dir := range namedDirs {
		path := "github.com/gomixin/mixin"
		if dir != "." {
			path += "/" + dir
		}
		out[path] = apiPackage{dir: dir, files: publicAPI(t, dir)}
	}
	return out
}

// namingChecks are the rules every exported name of every public package
// keeps (api_names_test.go, api_deprecated_test.go); R7, empty batches, is
// behaviour (TestEmptyBatchesAreNoRequests). TestNamingChecksCatchTheOldNames
// shows each check refusing the names it replaced.
var namingChecks = map[string]func(apiPackage) []string{
	"R1 payload types end in Payload":           checkPayloadTypes,
	"R2 enum constants start with their type":   checkEnumConstants,
	"R3 API reads are Read…":                    checkClientVerbs,
	"R4 ids are <Thing>ID":                      checkIDNames,
	"R5 CurrentTx only looks":                   checkContextAccessors,
	"R6 Data is bytes, base64 text says so":     checkDataFields,
	"R8 options say whose they are":             checkOptionNames,
	"deprecated names are aliases of live ones": checkDeprecatedAliases,
}

// The exported names of every public package follow the rules settled for
// 1.0 (issue 20; CHANGELOG.md, "Names settled for 1.0").
func TestNamingRules(t *testing.T) {
	pkgs := loadNamed(t)
	for _, rule := range sortedKeys(namingChecks) {
		for _, path := range sortedKeys(pkgs) {
			for _, p := range namingChecks[rule](pkgs[path]) {
				t.Errorf("%s: %s: %s", rule, path, p)
			}
		}
	}
}

// Nothing in the module uses a deprecated name: they exist for code
// outside it. CI's staticcheck (SA1019) catches uses in other packages;
// this also catches those inside the declaring package and its tests.
func TestNoDeprecatedNameIsUsed(t *testing.T) {
	files, err := moduleFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkNoDeprecatedUses(loadNamed(t), files) {
		t.Error(p)
	}
}

// Client.Me, ShowAttachment and FetchSessions stay as aliases, not
// deprecated: design.md names them (the seed's showAttachment; Me and
// FetchSessions among the names users expect).
func TestReadAliasesStay(t *testing.T) {
	d := declarations(loadNamed(t)["github.com/gomixin/mixin"])
	for alias, target := range clientReadAliases {
		if !d.names["Client."+alias] || !d.names["Client."+target] {
			t.Errorf("Client.%s or Client.%s is missing", alias, target)
		}
		if _, dep := d.deprecated["Client."+alias]; dep {
			t.Errorf("Client.%s is deprecated; design.md keeps it", alias)
		}
	}
}

// oldNames holds, for each rule, source written with the names the rule
// replaced (and a few it forbids); each must be reported.
var oldNames = map[string]struct{ src, want string }{
	"R1 payload types end in Payload": {`package mixin
type Text string
func (Text) payload() {}`, "payload type Text"},
	"R2 enum constants start with their type": {`package mixin
type ConnState int
const (
	StateConnecting ConnState = iota + 1
	StateConnected
)
type AckStatus string
const AckRead AckStatus = "READ"`, "constant StateConnected of type ConnState"},
	"R3 API reads are Read…": {`package mixin
type Client struct{}
func (c *Client) Circles(ctx context.Context) ([]Circle, error) { return nil, nil }
func (c *Client) GetUser(ctx context.Context) (*User, error) { return nil, nil }
func (c *Client) ShowAttachment(ctx context.Context, id string) (*Attachment, error) { return c.ShowIt(ctx, id) }`,
		"Client.Circles: an API read is Read…"},
	"R4 ids are <Thing>ID": {`package mixintest
type User struct { ID string }`, "User.ID"},
	"R5 CurrentTx only looks": {`package mixin
func OpenTx(ctx context.Context) (Store, *sql.Tx, bool) { return nil, nil, false }`, "OpenTx"},
	"R6 Data is bytes, base64 text says so": {`package mixin
type Message struct { Data []byte; Payload struct{}; }
type Reply struct { Data string }`, "Reply.Data"},
	"R8 options say whose they are": {`package mixin
type Option interface{ applyClient() }
type BlazeOption interface{ applyBlaze() }
type UploadOption interface{ applyUpload() }
func WithTimeout(d time.Duration) Option
func WithRetry(r Retry) Option
func WithMaxRetryAfter(d time.Duration) Option
func WithReplyTimeout(d time.Duration) BlazeOption
func WithWorkers(n int) BlazeOption
func WithQueueSize(n int) BlazeOption
func WithSize(n int64) UploadOption
func WithMimeType(mime string) UploadOption`, "Option WithTimeout"},
	"deprecated names are aliases of live ones": {`package mixin
type TextPayload string
// Text is the old name.
//
// Deprecated: use TextPayload. Kept until 1.0.
type Text TextPayload
// Deprecated: use Nothing. Kept until 1.0.
const AckRead = Nothing`, "Text: a deprecated type is an alias"},
}

// Each rule refuses the names it replaced: put an old name back and
// TestNamingRules fails.
func TestNamingChecksCatchTheOldNames(t *testing.T) {
	for _, rule := range sortedKeys(namingChecks) {
		fixture, ok := oldNames[rule]
		if !ok {
			t.Errorf("%s: no old names to show it catching", rule)
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), rule+".go", fixture.src, parser.SkipObjectResolution|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		dir := "."
		if f.Name.Name != "mixin" {
			dir = f.Name.Name
		}
		got := strings.Join(namingChecks[rule](apiPackage{dir: dir, files: []*ast.File{f}}), "\n")
		if !strings.Contains(got, fixture.want) {
			t.Errorf("%s: want a report of %q, got:\n%s", rule, fixture.want, got)
		}
	}
}
