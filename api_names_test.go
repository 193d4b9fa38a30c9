package mixin_test

import (
	"go/ast"
	"go/token"
	"slices"
	"strings"
	"unicode"
)

// The naming rules of the public API, settled for 1.0 (issue 20). Each
// check takes the parsed non-test files of one package and returns what
// breaks its rule; api_surface_test.go runs them over every public package
// and shows each one catching the old names. Deprecated aliases are exempt
// from the rules (checkDeprecatedAliases holds them instead).

// apiPackage is the parsed non-test files of one package.
type apiPackage struct {
	dir   string
	files []*ast.File
}

// namedDirs are the public packages the naming rules hold.
var namedDirs = []string{".", "mixintest", "recent", "store", "store/sqlite", "store/postgres", "store/storetest", "otelmixin"}

// deprecation returns the replacement a "Deprecated: use X." paragraph of
// doc names, and whether doc has such a paragraph.
func deprecation(doc *ast.CommentGroup) (string, bool) {
	if doc == nil {
		return "", false
	}
	_, rest, ok := strings.Cut(doc.Text(), "Deprecated: ")
	if !ok {
		return "", false
	}
	use, ok := strings.CutPrefix(rest, "use ")
	if !ok {
		return "", true
	}
	end := strings.IndexFunc(use, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	if end < 0 {
		end = len(use)
	}
	return use[:end], true
}

// specDoc is the doc of a spec, or of its declaration when it is alone.
func specDoc(gd *ast.GenDecl, doc *ast.CommentGroup) *ast.CommentGroup {
	if doc == nil && len(gd.Specs) == 1 {
		return gd.Doc
	}
	return doc
}

// camelWords splits an identifier into its words: WithHTTPClient is
// With, HTTP, Client; AppID is App, ID.
func camelWords(name string) []string {
	rs := []rune(name)
	var words []string
	start := 0
	for i := 1; i < len(rs); i++ {
		lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
		acronymEnd := unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
		digitEdge := unicode.IsDigit(rs[i]) != unicode.IsDigit(rs[i-1])
		if lowerToUpper || acronymEnd || digitEdge {
			words = append(words, string(rs[start:i]))
			start = i
		}
	}
	return append(words, string(rs[start:]))
}

func recvTypeName(fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	t := fl.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// funcs calls fn with every exported, non-deprecated function and method
// of p (methods of exported types only).
func (p apiPackage) funcs(fn func(fd *ast.FuncDecl, recv string)) {
	for _, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			if _, dep := deprecation(fd.Doc); dep {
				continue
			}
			recv := recvTypeName(fd.Recv)
			if fd.Recv != nil && !ast.IsExported(recv) {
				continue
			}
			fn(fd, recv)
		}
	}
}

// fields calls fn with every exported field of every exported struct type.
func (p apiPackage) fields(fn func(typ string, field *ast.Ident, t ast.Expr)) {
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			if st, ok := ts.Type.(*ast.StructType); ok {
				for _, fl := range st.Fields.List {
					for _, name := range fl.Names {
						if name.IsExported() {
							fn(ts.Name.Name, name, fl.Type)
						}
					}
				}
			}
			return false
		})
	}
}

// R1: a type with the sealed payload() method is named …Payload.
func checkPayloadTypes(p apiPackage) []string {
	var out []string
	for _, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "payload" {
				continue
			}
			if name := recvTypeName(fd.Recv); ast.IsExported(name) && !strings.HasSuffix(name, "Payload") {
				out = append(out, "payload type "+name+": name it "+name+"Payload")
			}
		}
	}
	return out
}

// R2: a constant of a named type T of the package is named T…; a spec
// without type or value (iota) carries the type of the one before it.
func checkEnumConstants(p apiPackage) []string {
	var out []string
	for _, f := range p.files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			typ := ""
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				} else if vs.Type != nil || len(vs.Values) > 0 {
					typ = "" // another package's type, or untyped
				}
				if _, dep := deprecation(specDoc(gd, vs.Doc)); dep || !ast.IsExported(typ) {
					continue
				}
				for _, n := range vs.Names {
					if n.IsExported() && !strings.HasPrefix(n.Name, typ) {
						out = append(out, "constant "+n.Name+" of type "+typ+": name it "+typ+"…")
					}
				}
			}
		}
	}
	return out
}

// clientVerbs are the first words a *Client method may have: Read for the
// API's state, Lookup for the client's cache, Search for a query, and the
// verbs of the API's writes. Show, Fetch, Get and bare nouns are not among
// them.
var clientVerbs = []string{"Read", "Lookup", "Search", "Send", "Reply", "Create", "Update", "Delete", "Add",
	"Remove", "Join", "Exit", "Mute", "Unmute", "Rotate", "Pin", "Unpin", "Block", "Unblock", "Upload",
	"Download", "Run", "Manage", "Admin", "Revoke", "Disappear", "Decrypt", "Invalidate", "Close", "New"}

// clientAccessors are the methods that describe the client itself.
var clientAccessors = []string{"AppID", "Keystore", "ClockOffset", "Token", "String", "Format"}

// clientReadAliases are the API reads also kept under the names users of
// other SDKs look for (design.md names them): each is one line calling its
// Read… method, and is not deprecated.
var clientReadAliases = map[string]string{
	"ShowAttachment": "ReadAttachment", // the Node SDK's showAttachment
	"FetchSessions":  "ReadSessions",   // its endpoint, POST /sessions/fetch
	"Me":             "ReadMe",         // its endpoint, GET /me
}

// R3: every *Client method starts with a verb of clientVerbs, describes the
// client, or is one of clientReadAliases.
func checkClientVerbs(p apiPackage) []string {
	var out []string
	p.funcs(func(fd *ast.FuncDecl, recv string) {
		name := fd.Name.Name
		switch {
		case recv != "Client" || slices.Contains(clientAccessors, name):
		case clientReadAliases[name] != "":
			if !forwards(fd, "c", clientReadAliases[name]) {
				out = append(out, "Client."+name+": an alias must be one line calling "+clientReadAliases[name])
			}
		case !slices.Contains(clientVerbs, camelWords(name)[0]):
			out = append(out, "Client."+name+": an API read is Read…, a cache read Lookup…, a query Search…")
		}
	})
	return out
}

// R4: an id is <Thing>ID, never a bare ID nor …Id, in fields and methods.
func checkIDNames(p apiPackage) []string {
	var out []string
	bad := func(name string) bool { return name == "ID" || strings.HasSuffix(name, "Id") }
	p.fields(func(typ string, field *ast.Ident, _ ast.Expr) {
		if bad(field.Name) {
			out = append(out, typ+"."+field.Name+": name the id after its thing (UserID, AttachmentID)")
		}
	})
	p.funcs(func(fd *ast.FuncDecl, recv string) {
		if bad(fd.Name.Name) {
			out = append(out, recv+"."+fd.Name.Name+": name the id after its thing")
		}
	})
	return out
}

// R5: a function of a context that answers (…, ok bool) only looks and
// starts nothing: it is Current<Thing>. One that may start something (Tx)
// returns an error instead.
func checkContextAccessors(p apiPackage) []string {
	var out []string
	p.funcs(func(fd *ast.FuncDecl, recv string) {
		params, results := fd.Type.Params.List, fd.Type.Results
		if recv != "" || len(params) == 0 || results == nil || !isSelector(params[0].Type, "context", "Context") {
			return
		}
		last := results.List[len(results.List)-1].Type
		if id, ok := last.(*ast.Ident); ok && id.Name == "bool" && !strings.HasPrefix(fd.Name.Name, "Current") {
			out = append(out, fd.Name.Name+": a context accessor that only looks is Current…")
		}
	})
	return out
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// dataStrings are the Data fields that hold base64 text, as decided for
// 1.0: mixin.Message keeps blaze's "data" as it came, documented as base64,
// beside REST's data_base64 (issue 20, R6).
var dataStrings = []string{"./Message.Data"}

// R6: a field named Data holds bytes; one holding base64 text ends in
// Base64 and is a string.
func checkDataFields(p apiPackage) []string {
	var out []string
	p.fields(func(typ string, field *ast.Ident, t ast.Expr) {
		key := p.dir + "/" + typ + "." + field.Name
		switch {
		case field.Name == "Data" && !isBytes(t) && !slices.Contains(dataStrings, key):
			out = append(out, typ+".Data: Data holds bytes; name base64 text …Base64")
		case strings.HasSuffix(field.Name, "Base64") && !isIdent(t, "string"):
			out = append(out, typ+"."+field.Name+": a …Base64 field is a string")
		}
	})
	return out
}

func isBytes(t ast.Expr) bool {
	at, ok := t.(*ast.ArrayType)
	return ok && at.Len == nil && isIdent(at.Elt, "byte")
}

func isIdent(t ast.Expr, name string) bool {
	id, ok := t.(*ast.Ident)
	return ok && id.Name == name
}

// optionNouns are, for each option type of the root package, the words
// that name what it configures; every option's name holds one. A client
// Option configures the client and its REST requests, a BlazeOption the
// loop's parts, a SendOption the message, an UploadOption the upload.
var optionNouns = map[string][]string{
	"Option": {"Request", "URL", "HTTP", "Agent", "Token", "Logger", "Clock", "Response", "Message",
		"Attachment", "Cache", "Sent", "Tracer"},
	"BlazeOption": {"Handler", "Conversation", "Ack", "Acks", "Socket", "Reconnect", "Keepalive", "Shutdown",
		"Frame", "Letter", "Dedupe", "Store", "Replica", "Handled", "Hook"},
	"SendOption":       {"Message", "Quote", "Silent", "Representative", "Blaze"},
	"UploadOption":     {"Upload", "Progress"},
	"EncryptionOption": {"Encryption"},
}

// R8: options say whose they are. In the root package every option holds a
// noun of its type (optionNouns); in any package, two options of different
// types do not end in the same word unless both hold their noun.
func checkOptionNames(p apiPackage) []string {
	var out []string
	byType := map[string][]string{} // option type → constructors
	p.funcs(func(fd *ast.FuncDecl, recv string) {
		res := fd.Type.Results
		if recv != "" || res == nil || len(res.List) != 1 {
			return
		}
		if id, ok := res.List[0].Type.(*ast.Ident); ok && strings.HasSuffix(id.Name, "Option") {
			byType[id.Name] = append(byType[id.Name], fd.Name.Name)
		}
	})
	holdsNoun := func(typ, name string) bool {
		nouns, ok := optionNouns[typ]
		return ok && p.dir == "." && slices.ContainsFunc(camelWords(name), func(w string) bool { return slices.Contains(nouns, w) })
	}
	lastWord := map[string]string{} // last word → "type name" seen first
	for _, typ := range sortedKeys(byType) {
		for _, name := range byType[typ] {
			if p.dir == "." && !holdsNoun(typ, name) {
				out = append(out, typ+" "+name+": name what it configures (one of "+strings.Join(optionNouns[typ], ", ")+")")
			}
			words := camelWords(name)
			last := words[len(words)-1]
			if prev, ok := lastWord[last]; ok {
				ptyp, pname, _ := strings.Cut(prev, " ")
				if ptyp != typ && !(holdsNoun(ptyp, pname) && holdsNoun(typ, name)) {
					out = append(out, name+" and "+pname+": options of "+typ+" and "+ptyp+" end alike; say whose each is")
				}
			} else {
				lastWord[last] = typ + " " + name
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// forwards reports whether fd's body is the one statement calling target
// with fd's parameters in order: on its receiver (named recv) for a
// method, or as a function.
func forwards(fd *ast.FuncDecl, recv, target string) bool {
	if fd.Body == nil || len(fd.Body.List) != 1 {
		return false
	}
	ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok {
		return false
	}
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		if fd.Recv != nil || fun.Name != target {
			return false
		}
	case *ast.SelectorExpr:
		if fd.Recv == nil || !isIdent(fun.X, recvParamName(fd)) || fun.Sel.Name != target {
			return false
		}
	default:
		return false
	}
	var params []string
	for _, f := range fd.Type.Params.List {
		for _, n := range f.Names {
			params = append(params, n.Name)
		}
	}
	if len(call.Args) != len(params) {
		return false
	}
	for i, a := range call.Args {
		if !isIdent(a, params[i]) {
			return false
		}
	}
	_, variadic := fd.Type.Params.List[max(len(fd.Type.Params.List)-1, 0)].Type.(*ast.Ellipsis)
	return len(params) == 0 || variadic == call.Ellipsis.IsValid()
}

func recvParamName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List[0].Names) == 0 {
		return ""
	}
	return fd.Recv.List[0].Names[0].Name
}
