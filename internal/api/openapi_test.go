package api_test

// openapi.json against the handlers' real behaviour: the routes, the
// contract's lists and limits, the resource types, the examples, and a
// scenario of real requests whose every answer is held against the
// document.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

// routes is every route the handler serves, as New in api.go registers
// them, with their methods. TestRoutesMatchSource keeps this list in step
// with the source; TestOpenAPIRoutes holds the document and the running
// handler to it.
var routes = map[string][]string{
	"/v3/ai-clipping":                   {"GET", "POST"},
	"/v3/ai-clipping/{id}":              {"DELETE", "GET"},
	"/v1/asset":                         {"POST"},
	"/v3/assets":                        {"GET", "POST"},
	"/v3/assets/{id}":                   {"DELETE", "GET"},
	"/v3/assets/direct-uploads":         {"POST"},
	"/v3/assets/{id}/complete":          {"POST"},
	"/v3/assets/direct-uploads/batches": {"POST"},
	"/v3/assets/complete/batches":       {"POST"},
	"/v3/assets/batches/{id}":           {"GET"},
	"/uploads/{id}":                     {"PUT"},
	"/v3/users/me":                      {"GET"},
	"/files/{job}/{name}":               {"GET", "HEAD"},
	"/assets/{id}":                      {"GET", "HEAD"},
	"/openapi.json":                     {"GET"},
	"/healthz":                          {"GET"},
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// shape forgets the names of path parameters: /files/{job}/{name} and
// /files/{job_id}/{name} are the same route.
func shape(pattern string) string { return wildcard.ReplaceAllString(pattern, "{}") }

// samplePath fills a pattern's parameters.
func samplePath(pattern string) string { return wildcard.ReplaceAllString(pattern, "probe") }

// TestRoutesMatchSource reads the routes out of the package's source, so
// a route added to New without a line in routes (and so without a check
// against the document) fails here.
func TestRoutesMatchSource(t *testing.T) {
	methodConst := map[string]string{
		"MethodGet": "GET", "MethodHead": "HEAD", "MethodPost": "POST", "MethodPut": "PUT",
		"MethodPatch": "PATCH", "MethodDelete": "DELETE", "MethodOptions": "OPTIONS", "MethodTrace": "TRACE",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	catchAll := false
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") || len(call.Args) != 2 {
				return true
			}
			pos := fset.Position(call.Pos())
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route whose pattern is not a string literal; this test cannot read it", pos)
				return true
			}
			pattern, _ := strconv.Unquote(lit.Value)
			if sel.Sel.Name == "HandleFunc" {
				if pattern != "/" {
					t.Errorf("%s: HandleFunc(%q): only the catch-all is expected to bypass h.methods", pos, pattern)
				}
				catchAll = true
				return true
			}
			// m.Handle(pattern, h.methods(map[string]http.HandlerFunc{http.MethodX: ...}))
			inner, ok := call.Args[1].(*ast.CallExpr)
			var lit2 *ast.CompositeLit
			if ok && len(inner.Args) == 1 {
				lit2, _ = inner.Args[0].(*ast.CompositeLit)
			}
			if isel, _ := inner.Fun.(*ast.SelectorExpr); lit2 == nil || isel == nil || isel.Sel.Name != "methods" {
				t.Errorf("%s: route %q is not registered as h.methods(map...); update this test", pos, pattern)
				return true
			}
			for _, e := range lit2.Elts {
				kv, _ := e.(*ast.KeyValueExpr)
				var key *ast.SelectorExpr
				if kv != nil {
					key, _ = kv.Key.(*ast.SelectorExpr)
				}
				if key == nil || methodConst[key.Sel.Name] == "" {
					t.Errorf("%s: route %q: a method this test cannot read", pos, pattern)
					continue
				}
				found[pattern] = append(found[pattern], methodConst[key.Sel.Name])
			}
			slices.Sort(found[pattern])
			return true
		})
	}
	if !catchAll {
		t.Error("no catch-all route found")
	}
	if !reflect.DeepEqual(found, routes) {
		t.Errorf("routes in the source:\n%v\nroutes in this test:\n%v", found, routes)
	}
}

// probeMethods are the methods every path is asked with.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}

// TestOpenAPIRoutes: every documented operation is routed, every route
// is documented, and a documented path asked with an undocumented method
// answers 405 with the documented methods in Allow.
func TestOpenAPIRoutes(t *testing.T) {
	c := newChecker(t)
	ts := newServer(t, nil)

	documented := map[string][]string{}
	for tmpl, item := range c.paths(t) {
		documented[shape(tmpl)] = methodsOf(item.(map[string]any))
	}
	served := map[string][]string{}
	for p, ms := range routes {
		served[shape(p)] = ms
	}
	if !reflect.DeepEqual(documented, served) {
		t.Errorf("documented operations:\n%v\nserved routes:\n%v", documented, served)
	}

	// Ask every path, documented or served, with every method. The
	// checker fails a 405 or a catch-all 404 for a documented operation,
	// and anything but a 405 with the documented Allow for the others.
	paths := map[string]bool{}
	for tmpl := range c.paths(t) {
		paths[samplePath(tmpl)] = true
	}
	for p := range routes {
		paths[samplePath(p)] = true
	}
	for _, p := range sortedKeys(paths) {
		for _, m := range probeMethods {
			req := ts.request(t, m, p, nil, "x-api-key", key1)
			resp, _ := c.do(t, ts.Client(), req)
			tmpl, item := c.route(t, p)
			if _, ok := item[strings.ToLower(m)]; ok && resp.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s %s (%s) is documented but answered 405", m, p, tmpl)
			}
		}
	}
	if !c.examples["#/components/responses/MethodNotAllowed#example"] {
		t.Error("no 405 answer equalled the documented MethodNotAllowed example")
	}

	// Paths that are not the API's fall through to the catch-all 404.
	for _, p := range []string{"/", "/v3", "/v3/ai-clipping/a/b", "/v2/ai-clipping", "/v1/assets", "/files/a", "/openapi.yaml", "/healthz/x"} {
		for _, m := range []string{"GET", "POST", "HEAD"} {
			c.do(t, ts.Client(), ts.request(t, m, p, nil, "x-api-key", key1))
		}
	}
}

// enumOf reads a schema's enum as strings; null becomes "<null>".
func enumOf(t testing.TB, doc *oasDoc, schema any) []string {
	t.Helper()
	s := doc.deref(t, schema)
	list, ok := s["enum"].([]any)
	if !ok {
		t.Fatalf("no enum in %s", compact(s))
	}
	out := make([]string, len(list))
	for i, e := range list {
		if e == nil {
			out[i] = "<null>"
		} else {
			out[i] = e.(string)
		}
	}
	return out
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func intOf(t testing.TB, v any) int {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v is not a number", v)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestOpenAPIContractLists: the request schema's enums, limits and
// defaults are the contract's, as package clipping defines them.
func TestOpenAPIContractLists(t *testing.T) {
	doc := loadDoc(t)
	schemas := doc.get(t, "components", "schemas").(map[string]any)
	prop := func(schema, name string) map[string]any {
		t.Helper()
		return doc.get(t, "components", "schemas", schema, "properties", name).(map[string]any)
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the document has %v, the contract %v", what, got, want)
		}
	}

	settings := prop("CreateAiClippingRequest", "output_settings")
	if settings["$ref"] != "#/components/schemas/HighlightOutputSettings" {
		t.Fatalf("output_settings is %v", settings)
	}
	durations := prop("HighlightOutputSettings", "duration_types")
	eq("duration types", enumOf(t, doc, durations["items"]), strs(clipping.DurationTypes))
	eq("Clip.duration_type", enumOf(t, doc, prop("Clip", "duration_type")), strs(clipping.DurationTypes))
	eq("aspect ratios", enumOf(t, doc, prop("HighlightOutputSettings", "aspect_ratio")), strs(clipping.AspectRatios))
	styles := slices.Clone(clipping.CaptionStyles)
	for name := range clipping.HeyGenCaptionStyles {
		if !slices.Contains(styles, name) {
			styles = append(styles, name)
		}
	}
	eq("caption styles", sortedSet(enumOf(t, doc, prop("HighlightOutputSettings", "caption_style"))), sortedSet(append(styles, "<null>")))
	eq("job statuses", enumOf(t, doc, schemas["JobStatus"]), strs([]clipping.JobStatus{
		clipping.JobPending, clipping.JobRunning, clipping.JobCompleted, clipping.JobFailed, clipping.JobCancelled}))
	eq("clip statuses", enumOf(t, doc, schemas["ClipStatus"]), strs([]clipping.ClipStatus{
		clipping.ClipPending, clipping.ClipCompleted, clipping.ClipFailed}))
	eq("webhook event types", enumOf(t, doc, prop("AiClippingWebhookEvent", "event_type")), []string{clipping.EventSuccess, clipping.EventFail})

	eq("title maxLength", intOf(t, prop("CreateAiClippingRequest", "title")["maxLength"]), clipping.MaxTitle)
	eq("prompt maxLength", intOf(t, prop("HighlightOutputSettings", "prompt")["maxLength"]), clipping.MaxPrompt)
	eq("callback_id maxLength", intOf(t, prop("CreateAiClippingRequest", "callback_id")["maxLength"]), clipping.MaxCallbackID)
	eq("callback_url maxLength", intOf(t, prop("CreateAiClippingRequest", "callback_url")["maxLength"]), clipping.MaxURL)
	eq("video.url maxLength", intOf(t, prop("AssetUrl", "url")["maxLength"]), clipping.MaxURL)
	eq("video.asset_id maxLength", intOf(t, prop("AssetId", "asset_id")["maxLength"]), clipping.MaxAssetID)
	eq("duration_types minItems", intOf(t, durations["minItems"]), 1)
	eq("duration_types maxItems", intOf(t, durations["maxItems"]), clipping.MaxDurationTypes)
	idem := doc.get(t, "components", "parameters", "IdempotencyKey", "schema").(map[string]any)
	eq("Idempotency-Key maxLength", intOf(t, idem["maxLength"]), clipping.MaxIdempotencyKey)
	eq("video types", []any{prop("AssetUrl", "type")["const"], prop("AssetId", "type")["const"]},
		[]any{clipping.VideoURL, clipping.VideoAssetID})
	eq("video discriminator", doc.get(t, "components", "schemas", "CreateAiClippingRequest", "properties", "video", "discriminator", "mapping"),
		map[string]any{clipping.VideoURL: "#/components/schemas/AssetUrl", clipping.VideoAssetID: "#/components/schemas/AssetId"})

	// The defaults are what DecodeCreateRequest fills in.
	def := clipping.DefaultOutputSettings()
	eq("duration_types default", durations["default"], []any{string(def.DurationTypes[0])})
	eq("aspect_ratio default", prop("HighlightOutputSettings", "aspect_ratio")["default"], string(def.AspectRatio))
	eq("captions default", prop("HighlightOutputSettings", "captions")["default"], def.Captions)
	eq("caption_style default", prop("HighlightOutputSettings", "caption_style")["default"], nil)
	eq("prompt default", prop("HighlightOutputSettings", "prompt")["default"], nil)
	eq("list limit", []int{intOf(t, doc.get(t, "components", "parameters", "Limit", "schema", "minimum")),
		intOf(t, doc.get(t, "components", "parameters", "Limit", "schema", "maximum")),
		intOf(t, doc.get(t, "components", "parameters", "Limit", "schema", "default"))}, []int{1, 100, 10})

	// The Idempotency-Key pattern and the handler's check agree.
	re := regexp.MustCompile(idem["pattern"].(string))
	for _, k := range []string{"a", "550e8400-e29b-41d4-a716-446655440000", "a:b.c_d-e", strings.Repeat("k", 255),
		"", strings.Repeat("k", 256), "a/b", "a b", "é", "a\n", "ключ", "a+b"} {
		if got, want := re.MatchString(k), clipping.ValidateIdempotencyKey(k) == nil; got != want {
			t.Errorf("Idempotency-Key %q: the pattern says %v, the handler %v", k, got, want)
		}
	}
}

// contractCodes are the error codes of package clipping.
var contractCodes = []string{
	clipping.CodeInvalidParameter, clipping.CodeAuthenticationFailed, clipping.CodeNotFound,
	clipping.CodeRequestInProgress, clipping.CodePayloadTooLarge, clipping.CodeUnsupportedMediaType,
	clipping.CodeRateLimitExceeded, clipping.CodeInternal, clipping.CodeMethodNotAllowed,
}

// TestOpenAPIErrorCodes: the documented codes are the contract's, each
// with the status of clipping's table, and every documented error example
// sits under the status its code maps to.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadDoc(t)
	codeSchema := doc.get(t, "components", "schemas", "StandardAPIError", "properties", "code").(map[string]any)
	codes := enumOf(t, doc, codeSchema)
	if got, want := slices.Sorted(slices.Values(codes)), slices.Sorted(slices.Values(contractCodes)); !slices.Equal(got, want) {
		t.Errorf("documented codes %v, contract codes %v", got, want)
	}
	// The list above is every Code constant of package clipping.
	var declared []string
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "clipping", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && strings.HasPrefix(n.Name, "Code") {
						v, _ := strconv.Unquote(lit.Value)
						declared = append(declared, v)
					}
				}
			}
		}
	}
	if got, want := slices.Sorted(slices.Values(declared)), slices.Sorted(slices.Values(contractCodes)); !slices.Equal(got, want) {
		t.Errorf("clipping/errors.go declares the codes %v; this test knows %v", got, want)
	}
	desc := codeSchema["description"].(string)
	for _, code := range codes {
		status := clipping.HTTPStatus(code)
		if status == http.StatusInternalServerError && code != clipping.CodeInternal {
			t.Errorf("documented code %q is not in clipping's status table (it maps to 500)", code)
		}
		if !strings.Contains(desc, fmt.Sprintf("%s (%d)", code, status)) {
			t.Errorf("the code description does not say %s (%d): %q", code, status, desc)
		}
	}

	c := &checker{doc: doc}
	for tmpl, item := range c.paths(t) {
		for _, m := range methodsOf(item.(map[string]any)) {
			responses := item.(map[string]any)[strings.ToLower(m)].(map[string]any)["responses"].(map[string]any)
			for code, r := range responses {
				content, _ := doc.deref(t, r)["content"].(map[string]any)
				media, ok := content["application/json"].(map[string]any)
				if !ok || code < "400" {
					continue
				}
				for name, ex := range mediaExamples(media) {
					if got := strconv.Itoa(clipping.HTTPStatus(errorCode(ex))); got != code {
						t.Errorf("%s %s %s example %q: code %q maps to %s", m, tmpl, code, name, errorCode(ex), got)
					}
				}
			}
		}
	}

	// The examples of the fixed errors are the handler's, word for word.
	// (The scenario meets the others; these it cannot reach: a 500, and
	// the default upload limit of 2 GB.)
	for _, f := range []struct {
		at   []string
		want *clipping.Error
	}{
		{[]string{"components", "responses", "Unauthorized"}, clipping.ErrAuthentication()},
		{[]string{"components", "responses", "IdempotencyInProgress"}, clipping.ErrInProgress()},
		{[]string{"components", "responses", "RateLimited"}, clipping.ErrRateLimited()},
		{[]string{"components", "responses", "InternalError"}, clipping.ErrInternal()},
		{[]string{"components", "responses", "UploadTooLarge"}, clipping.ErrTooLarge(2 << 30)},
		{[]string{"components", "responses", "JobNotFound"}, clipping.ErrNotFound("AI clipping job")},
		{[]string{"components", "responses", "FileNotFound"}, clipping.ErrNotFound("File")},
	} {
		media := doc.get(t, append(f.at, "content", "application/json")...).(map[string]any)
		b, _ := json.Marshal(clipping.ErrorBody{Error: f.want})
		want, _ := parseJSON(b)
		if !jsonEqual(media["example"], want) {
			t.Errorf("%s: the example %s is not the handler's %s", strings.Join(f.at, "."), compact(media["example"]), b)
		}
	}
}

// jsonFields lists a struct's JSON names, and those always written (no
// omitempty).
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

// TestOpenAPISchemasMatchTypes: each schema's properties are the JSON
// fields of the Go type the handler writes or reads, and for what the
// server writes, required lists exactly the fields always written.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadDoc(t)
	props := func(name string) (names, required []string) {
		s := doc.get(t, "components", "schemas", name).(map[string]any)
		names = sortedKeys(s["properties"].(map[string]any))
		required, _ = stringList(s["required"])
		slices.Sort(required)
		return names, required
	}
	for _, c := range []struct {
		schema string
		typ    any
		answer bool // written by the server, so required can be checked
	}{
		{"Job", clipping.Job{}, true},
		{"Clip", clipping.Clip{}, true},
		{"Asset", clipping.Asset{}, true},
		{"CreateAiClippingResponse", clipping.Created{}, true},
		{"AiClippingList", clipping.List{}, true},
		{"StandardAPIError", clipping.Error{}, true},
		{"ErrorResponse", clipping.ErrorBody{}, true},
		{"AiClippingWebhookEvent", clipping.WebhookEvent{}, true},
		{"AiClippingJobEnvelope", clipping.Data[clipping.Job]{}, true},
		{"AssetEnvelope", clipping.Data[clipping.Asset]{}, true},
		{"CreateAiClippingEnvelope", clipping.Data[clipping.Created]{}, true},
		{"CreateAiClippingRequest", clipping.CreateRequest{}, false},
		{"HighlightOutputSettings", clipping.OutputSettings{}, false},
		{"User", api.User{}, true},
		{"UserEnvelope", clipping.Data[api.User]{}, true},
		{"AssetObject", api.AssetObject{}, true},
		{"AssetObjectEnvelope", clipping.Data[api.AssetObject]{}, true},
		{"AssetObjectList", api.AssetList{}, true},
		{"DirectUploadRequest", api.UploadRequest{}, false},
		{"UploadSlot", api.UploadSlot{}, true},
		{"UploadSlotEnvelope", clipping.Data[api.UploadSlot]{}, true},
		{"UploadedFile", api.Uploaded{}, true},
		{"CompleteUploadRequest", api.CompleteRequest{}, false},
		{"CompletedAsset", api.Completed{}, true},
		{"BatchUploadRequest", api.BatchRequest{}, false},
		{"BatchCreated", api.BatchCreated{}, true},
		{"CompleteBatchRequest", api.CompleteBatchRequest{}, false},
		{"AssetBatch", api.BatchView{}, true},
		{"AssetBatchItem", api.BatchItem{}, true},
	} {
		all, always := jsonFields(reflect.TypeOf(c.typ))
		names, required := props(c.schema)
		if !slices.Equal(names, all) {
			t.Errorf("%s: the schema's properties %v, the JSON fields of %T %v", c.schema, names, c.typ, all)
		}
		if c.answer && !slices.Equal(required, always) {
			t.Errorf("%s: required %v, but %T always writes %v", c.schema, required, c.typ, always)
		}
	}
	// The video is one of two shapes, which together are the Video type.
	urlProps, _ := props("AssetUrl")
	idProps, _ := props("AssetId")
	union := slices.Compact(slices.Sorted(slices.Values(append(urlProps, idProps...))))
	if all, _ := jsonFields(reflect.TypeOf(clipping.Video{})); !slices.Equal(union, all) {
		t.Errorf("video: the schemas' properties %v, clipping.Video's fields %v", union, all)
	}
	// The request refuses unknown fields at every level, as the decoder does.
	for _, s := range []string{"CreateAiClippingRequest", "HighlightOutputSettings", "AssetUrl", "AssetId",
		"DirectUploadRequest", "CompleteUploadRequest", "BatchUploadRequest", "CompleteBatchRequest"} {
		if ap := doc.get(t, "components", "schemas", s).(map[string]any)["additionalProperties"]; ap != false {
			t.Errorf("%s: additionalProperties is %v, want false", s, ap)
		}
	}
}

// TestOpenAPIExamples validates every example and default in the
// document against its schema.
func TestOpenAPIExamples(t *testing.T) {
	doc := loadDoc(t)
	n := 0
	check := func(where string, schema, ex any) {
		n++
		for _, e := range doc.validate(schema, ex) {
			t.Errorf("%s: %s", where, e)
		}
	}
	// Schemas: their own example and default, and those of their parts.
	var walkSchema func(where string, s any)
	walkSchema = func(where string, s any) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if ex, ok := m["example"]; ok {
			check(where+".example", m, ex)
		}
		if exs, ok := m["examples"].([]any); ok {
			for i, ex := range exs {
				check(fmt.Sprintf("%s.examples[%d]", where, i), m, ex)
			}
		}
		if d, ok := m["default"]; ok {
			check(where+".default", m, d)
		}
		for _, k := range sortedKeys(m) {
			switch k {
			case "properties":
				for _, p := range sortedKeys(m[k].(map[string]any)) {
					walkSchema(where+"."+p, m[k].(map[string]any)[p])
				}
			case "items", "additionalProperties":
				walkSchema(where+"."+k, m[k])
			case "oneOf", "anyOf", "allOf":
				for i, b := range m[k].([]any) {
					walkSchema(fmt.Sprintf("%s.%s[%d]", where, k, i), b)
				}
			}
		}
	}
	for name, s := range doc.get(t, "components", "schemas").(map[string]any) {
		walkSchema("components.schemas."+name, s)
	}
	// Everything else with a schema: media types, parameters, headers.
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if schema, ok := x["schema"]; ok {
				walkSchema(where+".schema", schema)
				if ex, ok := x["example"]; ok {
					check(where+".example", schema, ex)
				}
				if exs, ok := x["examples"].(map[string]any); ok {
					for _, name := range sortedKeys(exs) {
						e := exs[name].(map[string]any)
						val, ok := e["value"]
						if !ok {
							t.Errorf("%s.examples.%s has no value", where, name)
							continue
						}
						check(where+".examples."+name, schema, val)
					}
				}
			}
			for _, k := range sortedKeys(x) {
				if k != "schema" && k != "schemas" {
					walk(where+"."+k, x[k])
				}
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", where, i), e)
			}
		}
	}
	walk("", doc.root)
	if n < 60 {
		t.Errorf("only %d examples and defaults were checked; the walk is missing some", n)
	}
	t.Logf("%d examples and defaults validated", n)
}

// TestOpenAPIOperations checks the operations' promises against the
// handler's wiring: every operation that needs a key documents 401 and
// 429; every one that takes an Idempotency-Key documents 400 and 409; no
// operation that needs a key says it needs none.
func TestOpenAPIOperations(t *testing.T) {
	c := newChecker(t)
	for _, tmpl := range sortedKeys(c.paths(t)) {
		item := c.paths(t)[tmpl].(map[string]any)
		for _, m := range methodsOf(item) {
			op := item[strings.ToLower(m)].(map[string]any)
			name := m + " " + tmpl
			responses := op["responses"].(map[string]any)
			security, ok := op["security"].([]any)
			if !ok {
				t.Errorf("%s: no security; say [] for none", name)
			}
			if len(security) > 0 {
				for _, code := range []string{"401", "429"} {
					if _, ok := responses[code]; !ok {
						t.Errorf("%s needs an API key but does not document %s", name, code)
					}
				}
			}
			if desc, _ := op["description"].(string); strings.Contains(desc, "No API key") && len(security) > 0 {
				t.Errorf("%s: the description says %q, but security is %v", name, desc, security)
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if ref, _ := p.(map[string]any)["$ref"].(string); ref == "#/components/parameters/IdempotencyKey" {
					for _, code := range []string{"400", "409"} {
						if _, ok := responses[code]; !ok {
							t.Errorf("%s takes an Idempotency-Key but does not document %s", name, code)
						}
					}
				}
			}
		}
	}
}

// request builds a request to the server; path may also be a full URL;
// hdr are name, value pairs.
func (ts *testServer) request(t testing.TB, method, path string, body io.Reader, hdr ...string) *http.Request {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = ts.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// call sends a request through the checker; body "" sends none.
func (c *checker) call(t testing.TB, ts *testServer, method, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return c.do(t, ts.Client(), ts.request(t, method, path, r, hdr...))
}

func decodeAs[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

func wantStatus(t testing.TB, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

// wantError checks an error answer's status, code and param ("" for null).
func wantError(t testing.TB, resp *http.Response, body []byte, status int, code, param string) clipping.Error {
	t.Helper()
	wantStatus(t, resp, body, status)
	e := decodeAs[clipping.ErrorBody](t, body).Error
	if e == nil || e.Code != code || e.Message == "" {
		t.Fatalf("%s %s: want code %s, got %s", resp.Request.Method, resp.Request.URL.Path, code, body)
	}
	got := ""
	if e.Param != nil {
		got = *e.Param
	}
	if got != param {
		t.Errorf("%s %s: param %q, want %q (%s)", resp.Request.Method, resp.Request.URL.Path, got, param, body)
	}
	return *e
}

const validBody = `{"video": {"type": "url", "url": "https://example.com/talk.mp4"}}`

// create makes a job and returns its id.
func (c *checker) create(t testing.TB, ts *testServer, key, body string) string {
	t.Helper()
	resp, b := c.call(t, ts, "POST", "/v3/ai-clipping", body, "x-api-key", key, "Content-Type", "application/json")
	wantStatus(t, resp, b, http.StatusAccepted)
	id := decodeAs[clipping.Data[clipping.Created]](t, b).Data.AIClippingID
	if id == "" {
		t.Fatalf("no ai_clipping_id in %s", b)
	}
	return id
}

// multipartBody is a form with the given parts: field name, file name
// ("" for a plain field), Content-Type ("" for none) and content.
func multipartBody(t testing.TB, parts ...[4]string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p[0])
		if p[1] != "" {
			cd += fmt.Sprintf(`; filename=%q`, p[1])
		}
		h.Set("Content-Disposition", cd)
		if p[2] != "" {
			h.Set("Content-Type", p[2])
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[3]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// TestOpenAPIScenario drives real requests through a listener and holds
// every answer against the document (see checker), then checks that
// every operation was exercised and every documented error example was
// met word for word.
func TestOpenAPIScenario(t *testing.T) {
	c := newChecker(t)
	const maxJSON, maxUpload = 4096, 64 << 10
	ts := newServer(t, func(cfg *api.Config) { cfg.MaxJSON, cfg.MaxUpload = maxJSON, maxUpload })
	ctx := context.Background()
	k1 := []string{"x-api-key", key1}
	json1 := []string{"x-api-key", key1, "Content-Type", "application/json"}

	t.Run("meta", func(t *testing.T) {
		resp, body := c.call(t, ts, "GET", "/healthz", "")
		wantStatus(t, resp, body, http.StatusOK)
		resp, body = c.call(t, ts, "GET", "/openapi.json", "", k1...)
		wantStatus(t, resp, body, http.StatusOK)
		file, err := os.ReadFile("openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, file) {
			t.Error("GET /openapi.json does not serve openapi.json")
		}
		resp, body = c.call(t, ts, "GET", "/openapi.json", "")
		wantError(t, resp, body, http.StatusUnauthorized, clipping.CodeAuthenticationFailed, "")
	})

	t.Run("authentication", func(t *testing.T) {
		for _, tmpl := range sortedKeys(c.paths(t)) {
			item := c.paths(t)[tmpl].(map[string]any)
			for _, m := range methodsOf(item) {
				if sec, _ := item[strings.ToLower(m)].(map[string]any)["security"].([]any); len(sec) == 0 {
					continue
				}
				p := samplePath(tmpl)
				for _, hdr := range [][]string{nil, {"x-api-key", "nope"}, {"Authorization", "Bearer nope"}, {"Authorization", "Basic " + key1}, {"Authorization", "Bearer"}} {
					resp, body := c.call(t, ts, m, p, "", hdr...)
					wantError(t, resp, body, http.StatusUnauthorized, clipping.CodeAuthenticationFailed, "")
				}
			}
		}
		// Both ways of giving the key work.
		for _, hdr := range [][]string{{"x-api-key", key1}, {"Authorization", "Bearer " + key2}, {"authorization", "bearer " + key1}} {
			resp, body := c.call(t, ts, "GET", "/v3/ai-clipping", "", hdr...)
			wantStatus(t, resp, body, http.StatusOK)
		}
	})

	var fullID string
	t.Run("create", func(t *testing.T) {
		before, _ := ts.Runner.counts()
		c.create(t, ts, key1, validBody)
		full := `{"video": {"type": "url", "url": "https://example.com/talk.mp4"}, "title": "A talk",
			"input_language": "EN", "output_settings": {"duration_types": ["30", "long"], "aspect_ratio": "square",
			"captions": false, "caption_style": "bold", "prompt": "funny bits"},
			"callback_url": "https://hooks.example.com/x", "callback_id": "order-1"}`
		fullID = c.create(t, ts, key1, full)
		// No Content-Type at all is accepted too.
		resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, "Authorization", "Bearer "+key1)
		wantStatus(t, resp, body, http.StatusAccepted)
		if after, _ := ts.Runner.counts(); after != before+3 {
			t.Errorf("the runner was notified %d times for 3 jobs", after-before)
		}

		resp, body = c.call(t, ts, "GET", "/v3/ai-clipping/"+fullID, "", k1...)
		wantStatus(t, resp, body, http.StatusOK)
		job := decodeAs[clipping.Data[clipping.Job]](t, body).Data
		if job.ID != fullID || job.Status != clipping.JobPending || job.Progress != 0 || len(job.Clips) != 0 ||
			job.Title == nil || *job.Title != "A talk" || job.InputLanguage == nil || *job.InputLanguage != "en" ||
			job.CallbackID == nil || *job.CallbackID != "order-1" || job.CreatedAt == nil || *job.CreatedAt != ts.Clock.Now().Unix() {
			t.Errorf("the new job is %s", body)
		}
		st, err := ts.Store.GetJob(ctx, ownerOf(key1), fullID)
		if err != nil {
			t.Fatal(err)
		}
		want := clipping.OutputSettings{DurationTypes: []clipping.DurationType{"30", "long"}, AspectRatio: "square",
			Captions: false, CaptionStyle: clipping.Ptr("bold"), Prompt: clipping.Ptr("funny bits")}
		if !reflect.DeepEqual(st.Request.OutputSettings, want) {
			t.Errorf("stored settings %+v, want %+v", st.Request.OutputSettings, want)
		}
		// Another key does not see it.
		resp, body = c.call(t, ts, "GET", "/v3/ai-clipping/"+fullID, "", "x-api-key", key2)
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	})

	t.Run("create invalid", func(t *testing.T) {
		long := func(n int) string { return strings.Repeat("x", n) }
		for _, tc := range []struct{ body, param string }{
			{`{}`, "video"},
			{``, ""},
			{`[]`, ""},
			{`{"video":`, ""},
			{`{"video": {"type": "url", "url": "https://example.com/a"}} {}`, ""},
			{`{"video": "https://example.com/a"}`, "video"},
			{`{"video": {"type": "url", "url": "http://example.com/talk.mp4"}}`, "video.url"},
			{`{"video": {"type": "url"}}`, "video.url"},
			{`{"video": {"type": "file", "url": "https://example.com/a"}}`, "video.type"},
			{`{"video": {"type": "url", "url": "https://example.com/a", "asset_id": "x"}}`, "video.asset_id"},
			{`{"video": {"type": "asset_id", "asset_id": "d9298a10d1b0735837dc4bd85dac641b"}}`, "video.asset_id"},
			{`{"video": {"type": "asset_id", "asset_id": "../etc"}}`, "video.asset_id"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "extra": 1}`, "extra"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "video": {"type": "url", "url": "https://example.com/b"}}`, "video"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "title": "` + long(clipping.MaxTitle+1) + `"}`, "title"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "title": 5}`, "title"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "input_language": "xx"}`, "input_language"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": null}`, "output_settings"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"style": "x"}}`, "output_settings.style"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"duration_types": []}}`, "output_settings.duration_types"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"duration_types": ["45"]}}`, "output_settings.duration_types"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"duration_types": ["30","60","180","long","30"]}}`, "output_settings.duration_types"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"aspect_ratio": "wide"}}`, "output_settings.aspect_ratio"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"captions": "yes"}}`, "output_settings.captions"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"caption_style": "neon"}}`, "output_settings.caption_style"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "output_settings": {"prompt": "` + long(clipping.MaxPrompt+1) + `"}}`, "output_settings.prompt"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "callback_url": "ftp://example.com"}`, "callback_url"},
			{`{"video": {"type": "url", "url": "https://example.com/a"}, "callback_id": "` + long(clipping.MaxCallbackID+1) + `"}`, "callback_id"},
		} {
			resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", tc.body, json1...)
			wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, tc.param)
		}
		resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, append(json1, "Idempotency-Key", "a/b")...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
		resp, body = c.call(t, ts, "POST", "/v3/ai-clipping", validBody, append(json1, "Idempotency-Key", long(256))...)
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
	})

	t.Run("sizes and types", func(t *testing.T) {
		big := `{"video": {"type": "url", "url": "https://example.com/a"}, "title": "` + strings.Repeat("x", maxJSON) + `"}`
		resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", big, json1...)
		e := wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
		if e.Message != clipping.ErrTooLarge(maxJSON).Message {
			t.Errorf("413 message %q", e.Message)
		}
		for _, ct := range []string{"text/plain", "application/xml", "application/json-patch+json", "multipart/form-data; boundary=x", "not a type"} {
			resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, "x-api-key", key1, "Content-Type", ct)
			wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		}
		// The default cap is the documented 1 MB.
		def := newServer(t, nil)
		resp, body = c.call(t, def, "POST", "/v3/ai-clipping", strings.Repeat(" ", 1<<20)+validBody, json1...)
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
		resp, body = c.call(t, def, "POST", "/v3/ai-clipping", strings.Repeat(" ", 1<<20-len(validBody))+validBody, json1...)
		wantStatus(t, resp, body, http.StatusAccepted)
		for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
			resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, "x-api-key", key1, "Content-Type", ct)
			wantStatus(t, resp, body, http.StatusAccepted)
		}
	})

	t.Run("idempotency", func(t *testing.T) {
		notified, _ := ts.Runner.counts()
		hdr := append(json1, "Idempotency-Key", "idem-1")
		resp, first := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, hdr...)
		wantStatus(t, resp, first, http.StatusAccepted)
		if resp.Header.Get("Idempotent-Replayed") != "" {
			t.Error("a first answer says Idempotent-Replayed")
		}
		// A repeat, even with a slightly different body, replays.
		for _, b := range []string{validBody, `{"video": {"type": "url", "url": "https://example.com/other.mp4"}}`} {
			resp, again := c.call(t, ts, "POST", "/v3/ai-clipping", b, hdr...)
			wantStatus(t, resp, again, http.StatusAccepted)
			if !bytes.Equal(again, first) || resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("the repeat answered %s (replayed %q), the first %s", again, resp.Header.Get("Idempotent-Replayed"), first)
			}
		}
		if n, _ := ts.Runner.counts(); n != notified+1 {
			t.Errorf("%d jobs were queued for one Idempotency-Key", n-notified)
		}
		// The scope is per API key.
		resp, other := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, "x-api-key", key2, "Idempotency-Key", "idem-1")
		wantStatus(t, resp, other, http.StatusAccepted)
		if bytes.Equal(other, first) {
			t.Error("another API key got the first key's answer")
		}
		// An error is an answer too, and is replayed.
		bad := append(json1, "Idempotency-Key", "idem-bad")
		resp, b1 := c.call(t, ts, "POST", "/v3/ai-clipping", `{}`, bad...)
		wantStatus(t, resp, b1, http.StatusBadRequest)
		resp, b2 := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, bad...)
		wantStatus(t, resp, b2, http.StatusBadRequest)
		if !bytes.Equal(b1, b2) || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the repeat of a 400 answered %s", b2)
		}

		// 409 while the first is in flight: hold the key in the store under
		// the scope the handler uses (owner|endpoint|path parameter|key).
		scope := ownerOf(key1) + "|POST /v3/ai-clipping||idem-flight"
		rep, err := ts.Store.BeginRequest(ctx, scope, "", ts.Clock.Now(), 24*time.Hour, 2*time.Minute)
		if err != nil || rep.State != store.Started {
			t.Fatalf("BeginRequest: %+v, %v", rep, err)
		}
		flight := append(json1, "Idempotency-Key", "idem-flight")
		resp, body := c.call(t, ts, "POST", "/v3/ai-clipping", validBody, flight...)
		wantError(t, resp, body, http.StatusConflict, clipping.CodeRequestInProgress, "")
		stored := `{"data":{"ai_clipping_id":"from-the-store"}}`
		if err := ts.Store.FinishRequest(ctx, scope, http.StatusAccepted, []byte(stored)); err != nil {
			t.Fatal(err)
		}
		resp, body = c.call(t, ts, "POST", "/v3/ai-clipping", validBody, flight...)
		wantStatus(t, resp, body, http.StatusAccepted)
		if string(body) != stored {
			t.Errorf("after the first finished, the repeat answered %s, want %s", body, stored)
		}

		// DELETE: scoped per path parameter.
		a, b := c.create(t, ts, key1, validBody), c.create(t, ts, key1, validBody)
		for _, id := range []string{a, a, b} {
			resp, body := c.call(t, ts, "DELETE", "/v3/ai-clipping/"+id, "", "x-api-key", key1, "Idempotency-Key", "del-1")
			wantStatus(t, resp, body, http.StatusOK)
			if got := decodeAs[clipping.Data[map[string]string]](t, body).Data["id"]; got != id {
				t.Errorf("DELETE %s answered %s", id, body)
			}
		}
		resp, body = c.call(t, ts, "DELETE", "/v3/ai-clipping/"+b, "", "x-api-key", key1, "Idempotency-Key", "a/b")
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")
	})

	t.Run("upload in flight", func(t *testing.T) {
		// A slow upload holds its Idempotency-Key in flight: the handler
		// takes the key before it reads the body, and makes the asset's
		// temporary file right after.
		pr, pw := io.Pipe()
		req := ts.request(t, "POST", "/v1/asset", pr, "x-api-key", key1, "Content-Type", "video/mp4", "Idempotency-Key", "up-1")
		type answer struct {
			resp *http.Response
			body []byte
			err  error
		}
		done := make(chan answer, 1)
		go func() {
			resp, err := ts.Client().Do(req)
			if err != nil {
				done <- answer{err: err}
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- answer{resp, body, err}
		}()
		if _, err := pw.Write([]byte("first half ")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			parts, _ := filepath.Glob(filepath.Join(ts.DataDir, "assets", "*", "*.part-*"))
			if len(parts) > 0 {
				break
			}
			if time.Now().After(deadline) {
				pw.CloseWithError(fmt.Errorf("timed out"))
				t.Fatal("the upload never started")
			}
			time.Sleep(5 * time.Millisecond)
		}
		hdr := []string{"x-api-key", key1, "Content-Type", "video/mp4", "Idempotency-Key", "up-1"}
		resp, body := c.call(t, ts, "POST", "/v1/asset", "other", hdr...)
		wantError(t, resp, body, http.StatusConflict, clipping.CodeRequestInProgress, "")
		pw.Write([]byte("second half"))
		pw.Close()
		first := <-done
		if first.err != nil {
			t.Fatal(first.err)
		}
		c.check(t, "POST", "/v1/asset", first.resp, first.body)
		wantStatus(t, first.resp, first.body, http.StatusOK)
		if a := decodeAs[clipping.Data[clipping.Asset]](t, first.body).Data; a.SizeBytes != int64(len("first half second half")) {
			t.Errorf("asset %+v", a)
		}
		resp, body = c.call(t, ts, "POST", "/v1/asset", "other", hdr...)
		wantStatus(t, resp, body, http.StatusOK)
		if !bytes.Equal(body, first.body) || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the repeat answered %s, the first %s", body, first.body)
		}
	})

	t.Run("assets", func(t *testing.T) {
		video := strings.Repeat("0123456789", 30)
		for _, tc := range []struct{ ct, mime string }{
			{"video/mp4", "video/mp4"},
			{`video/mp4; codecs="avc1.42E01E"`, "video/mp4"},
			{"application/octet-stream", "application/octet-stream"},
			{"", "application/octet-stream"},
		} {
			hdr := k1
			if tc.ct != "" {
				hdr = append(slices.Clone(k1), "Content-Type", tc.ct)
			}
			resp, body := c.call(t, ts, "POST", "/v1/asset", video, hdr...)
			wantStatus(t, resp, body, http.StatusOK)
			a := decodeAs[clipping.Data[clipping.Asset]](t, body).Data
			exp := ts.Signer.Expiry(ts.Clock.Now())
			if a.MimeType != tc.mime || a.SizeBytes != int64(len(video)) || a.URL != ts.Signer.URL(ts.URL, "/assets/"+a.AssetID, exp) {
				t.Errorf("Content-Type %q: asset %+v", tc.ct, a)
			}
			checkFile(t, c, ts, a.URL, tc.mime, video)
		}

		resp, body := c.call(t, ts, "POST", "/v1/asset", video, "x-api-key", key1, "Content-Type", "text/plain")
		wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		resp, body = c.call(t, ts, "POST", "/v1/asset", "", "x-api-key", key1, "Content-Type", "video/mp4")
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "file")
		resp, body = c.call(t, ts, "POST", "/v1/asset", strings.Repeat("x", maxUpload+1), "x-api-key", key1, "Content-Type", "video/mp4")
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
		resp, body = c.call(t, ts, "POST", "/v1/asset", strings.Repeat("x", maxUpload), "x-api-key", key1, "Content-Type", "video/mp4")
		wantStatus(t, resp, body, http.StatusOK)
		resp, body = c.call(t, ts, "POST", "/v1/asset", video, "x-api-key", key1, "Content-Type", "video/mp4", "Idempotency-Key", "a/b")
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")

		// Multipart.
		form := func(parts ...[4]string) (*http.Response, []byte) {
			t.Helper()
			b, ct := multipartBody(t, parts...)
			return c.call(t, ts, "POST", "/v3/assets", b, "x-api-key", key1, "Content-Type", ct)
		}
		resp, body = form([4]string{"title", "", "", "ignored"}, [4]string{"file", "talk.mp4", "video/mp4", video})
		wantStatus(t, resp, body, http.StatusOK)
		asset := decodeAs[clipping.Data[clipping.Asset]](t, body).Data
		if asset.MimeType != "video/mp4" || asset.SizeBytes != int64(len(video)) {
			t.Errorf("multipart asset %+v", asset)
		}
		checkFile(t, c, ts, asset.URL, "video/mp4", video)
		if mime.TypeByExtension(".mp4") == "" {
			t.Log("this system maps no type to .mp4 (no /etc/mime.types): skipping the file-name fallback")
		} else {
			resp, body = form([4]string{"file", "talk.mp4", "application/octet-stream", video})
			wantStatus(t, resp, body, http.StatusOK)
			if a := decodeAs[clipping.Data[clipping.Asset]](t, body).Data; a.MimeType != "video/mp4" {
				t.Errorf("octet-stream talk.mp4: mime %q", a.MimeType)
			}
		}
		resp, body = form([4]string{"video", "talk.mp4", "video/mp4", video})
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "file")
		resp, body = form([4]string{"file", "talk.mp4", "video/mp4", ""})
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "file")
		resp, body = form([4]string{"file", "notes.txt", "text/plain", "hello"})
		wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		resp, body = form([4]string{"file", "talk.mp4", "video/mp4", strings.Repeat("x", maxUpload+1)})
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, clipping.CodePayloadTooLarge, "")
		resp, body = c.call(t, ts, "POST", "/v3/assets", validBody, json1...)
		wantError(t, resp, body, http.StatusUnsupportedMediaType, clipping.CodeUnsupportedMediaType, "")
		b, ct := multipartBody(t, [4]string{"file", "talk.mp4", "video/mp4", video})
		resp, body = c.call(t, ts, "POST", "/v3/assets", b, "x-api-key", key1, "Content-Type", ct, "Idempotency-Key", "a/b")
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "Idempotency-Key")

		// The asset is a source for its own key only.
		c.create(t, ts, key1, `{"video": {"type": "asset_id", "asset_id": "`+asset.AssetID+`"}}`)
		resp, body = c.call(t, ts, "POST", "/v3/ai-clipping", `{"video": {"type": "asset_id", "asset_id": "`+asset.AssetID+`"}}`,
			"x-api-key", key2, "Content-Type", "application/json")
		wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "video.asset_id")

		// Asset links: signature, expiry, unknown asset, missing file.
		exp := ts.Signer.Expiry(ts.Clock.Now())
		for _, tc := range []struct {
			url    string
			status int
		}{
			{ts.URL + "/assets/" + asset.AssetID, 401},
			{ts.Signer.URL(ts.URL, "/assets/"+asset.AssetID, ts.Clock.Now().Unix()), 401},
			{altered(asset.URL), 401},
			{ts.Signer.URL(ts.URL, "/assets/d9298a10d1b0735837dc4bd85dac641b", exp), 404},
		} {
			for _, m := range []string{"GET", "HEAD"} {
				resp, body := c.do(t, ts.Client(), ts.request(t, m, tc.url, nil))
				if resp.StatusCode != tc.status {
					t.Errorf("%s %s: %d, want %d: %s", m, tc.url, resp.StatusCode, tc.status, body)
				}
			}
		}
	})

	t.Run("jobs and their files", func(t *testing.T) {
		id := c.create(t, ts, key1, validBody)
		dir := filepath.Join(ts.DataDir, "jobs", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"c1.mp4": strings.Repeat("mp4 bytes ", 100), "c1.jpg": "jpeg bytes",
			"c1.srt": "1\n00:00:00,000 --> 00:00:01,000\nHi\n", "c1.vtt": "WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := ts.Store.UpdateJob(ctx, id, func(j *store.Job) error {
			j.Resource.Status = clipping.JobCompleted
			j.Resource.Progress = 100
			j.Resource.SourceDuration = clipping.Ptr(2712.36)
			j.Resource.Title = clipping.Ptr("Shipping on time")
			j.Resource.InputLanguage = clipping.Ptr("en")
			j.Resource.Clips = []clipping.Clip{{
				ID: "c1", Status: clipping.ClipCompleted, Title: clipping.Ptr("Why teams ship late"),
				DurationSeconds: clipping.Ptr(58.4), AspectRatio: clipping.Ptr(clipping.AspectPortrait),
				ViralityScore: clipping.Ptr(87), ThumbnailURL: clipping.Ptr("c1.jpg"), VideoURL: clipping.Ptr("c1.mp4"),
				DurationType: clipping.Duration60, StartSeconds: clipping.Ptr(312.48), EndSeconds: clipping.Ptr(370.88),
				Transcript: clipping.Ptr("Most teams..."), CaptionsSRTURL: clipping.Ptr("c1.srt"),
				CaptionsVTTURL: clipping.Ptr("c1.vtt"), Reason: clipping.Ptr("A quotable argument."),
			}, {
				ID: "c2", Status: clipping.ClipFailed, FailureMessage: clipping.Ptr("Processing failed at the render stage."),
				DurationType: clipping.Duration30,
			}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := c.call(t, ts, "GET", "/v3/ai-clipping/"+id, "", k1...)
		wantStatus(t, resp, body, http.StatusOK)
		job := decodeAs[clipping.Data[clipping.Job]](t, body).Data
		if len(job.Clips) != 2 {
			t.Fatalf("job %s", body)
		}
		exp := ts.Signer.Expiry(ts.Clock.Now())
		c1, c2 := job.Clips[0], job.Clips[1]
		if c1.ExpiresAt == nil || *c1.ExpiresAt != exp || c2.ExpiresAt != nil || c2.VideoURL != nil || c2.ThumbnailURL != nil {
			t.Errorf("clips %s", body)
		}
		for _, f := range []struct {
			url  *string
			name string
			mime string
		}{
			{c1.VideoURL, "c1.mp4", "video/mp4"}, {c1.ThumbnailURL, "c1.jpg", "image/jpeg"},
			{c1.CaptionsSRTURL, "c1.srt", "application/x-subrip"}, {c1.CaptionsVTTURL, "c1.vtt", "text/vtt"},
		} {
			want := ts.Signer.URL(ts.URL, "/files/"+id+"/"+f.name, exp)
			if f.url == nil || *f.url != want {
				t.Errorf("%s: URL %v, want %s", f.name, f.url, want)
				continue
			}
			checkFile(t, c, ts, *f.url, f.mime, files[f.name])
		}

		// Bad links: unsigned, altered, expired, another path's signature,
		// a file or job that is not there, a name that cannot be a file.
		video := *c1.VideoURL
		for _, tc := range []struct {
			url    string
			status int
		}{
			{ts.URL + "/files/" + id + "/c1.mp4", 401},
			{ts.URL + "/files/" + id + "/c1.mp4?expires=" + strconv.FormatInt(exp, 10), 401},
			{altered(video), 401},
			{strings.Replace(video, "expires=", "expires=1", 1), 401},
			{ts.Signer.URL(ts.URL, "/files/"+id+"/c1.mp4", ts.Clock.Now().Unix()), 401},
			{strings.Replace(video, "c1.mp4", "c1.jpg", 1), 401},
			{ts.Signer.URL(ts.URL, "/files/"+id+"/c9.mp4", exp), 404},
			{ts.Signer.URL(ts.URL, "/files/nojob/c1.mp4", exp), 404},
			{ts.Signer.URL(ts.URL, "/files/"+id+"/c1.mp4.bak.old", exp), 404},
			{ts.Signer.URL(ts.URL, "/files/"+id+"/.hidden", exp), 404},
		} {
			for _, m := range []string{"GET", "HEAD"} {
				resp, body := c.do(t, ts.Client(), ts.request(t, m, tc.url, nil))
				if resp.StatusCode != tc.status {
					t.Errorf("%s %s: %d, want %d: %s", m, tc.url, resp.StatusCode, tc.status, body)
				}
			}
		}

		// A failed and a running job.
		for _, st := range []clipping.JobStatus{clipping.JobFailed, clipping.JobRunning, clipping.JobCancelled} {
			jid := c.create(t, ts, key1, validBody)
			_, err := ts.Store.UpdateJob(ctx, jid, func(j *store.Job) error {
				j.Resource.Status, j.Resource.Progress = st, 35
				if st == clipping.JobFailed {
					j.Resource.FailureMessage = clipping.Ptr("The source video could not be downloaded.")
				}
				j.Resource.Clips = []clipping.Clip{{ID: "p1", Status: clipping.ClipPending, DurationType: clipping.DurationLong}}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, body := c.call(t, ts, "GET", "/v3/ai-clipping/"+jid, "", k1...)
			wantStatus(t, resp, body, http.StatusOK)
			if got := decodeAs[clipping.Data[clipping.Job]](t, body).Data; got.Status != st {
				t.Errorf("job %s", body)
			}
		}

		// Delete: a finished job is not cancelled, a pending one is; then
		// GET, DELETE and the file links answer 404.
		pending := c.create(t, ts, key1, validBody)
		for _, jid := range []string{id, pending} {
			resp, body := c.call(t, ts, "DELETE", "/v3/ai-clipping/"+jid, "", k1...)
			wantStatus(t, resp, body, http.StatusOK)
			resp, body = c.call(t, ts, "GET", "/v3/ai-clipping/"+jid, "", k1...)
			wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
			resp, body = c.call(t, ts, "DELETE", "/v3/ai-clipping/"+jid, "", k1...)
			wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
		}
		if _, cancelled := ts.Runner.counts(); !slices.Contains(cancelled, pending) || slices.Contains(cancelled, id) {
			t.Errorf("cancelled %v; want the pending %s and not the completed %s", cancelled, pending, id)
		}
		resp, body = c.do(t, ts.Client(), ts.request(t, "GET", video, nil))
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
		// Another key cannot delete a job.
		other := c.create(t, ts, key2, validBody)
		resp, body = c.call(t, ts, "DELETE", "/v3/ai-clipping/"+other, "", k1...)
		wantError(t, resp, body, http.StatusNotFound, clipping.CodeNotFound, "")
	})

	t.Run("list", func(t *testing.T) {
		ls := newServer(t, nil)
		resp, body := c.call(t, ls, "GET", "/v3/ai-clipping", "", "x-api-key", key2)
		wantStatus(t, resp, body, http.StatusOK)
		if string(body) != `{"data":[],"has_more":false,"next_token":null}` {
			t.Errorf("empty list: %s", body)
		}
		var ids []string
		for range 3 {
			ids = append(ids, c.create(t, ls, key1, validBody))
			ls.Clock.Advance(time.Second)
		}
		slices.Reverse(ids) // newest first
		resp, body = c.call(t, ls, "GET", "/v3/ai-clipping?limit=2", "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusOK)
		page := decodeAs[clipping.List](t, body)
		if len(page.Data) != 2 || page.Data[0].ID != ids[0] || page.Data[1].ID != ids[1] || !page.HasMore || page.NextToken == nil {
			t.Fatalf("first page %s, want %v", body, ids[:2])
		}
		resp, body = c.call(t, ls, "GET", "/v3/ai-clipping?limit=2&token="+*page.NextToken, "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusOK)
		page = decodeAs[clipping.List](t, body)
		if len(page.Data) != 1 || page.Data[0].ID != ids[2] || page.HasMore || page.NextToken != nil {
			t.Fatalf("second page %s, want %v", body, ids[2:])
		}
		resp, body = c.call(t, ls, "GET", "/v3/ai-clipping", "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusOK)
		if page := decodeAs[clipping.List](t, body); len(page.Data) != 3 || page.HasMore {
			t.Errorf("default page %s", body)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=", "limit=1.5"} {
			resp, body := c.call(t, ls, "GET", "/v3/ai-clipping?"+q, "", "x-api-key", key1)
			if q == "limit=" {
				wantStatus(t, resp, body, http.StatusOK) // empty means the default
				continue
			}
			wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "limit")
		}
		for _, tok := range []string{"!!!", "bm90LWEtY3Vyc29y"} {
			resp, body := c.call(t, ls, "GET", "/v3/ai-clipping?token="+tok, "", "x-api-key", key1)
			wantError(t, resp, body, http.StatusBadRequest, clipping.CodeInvalidParameter, "token")
		}
	})

	t.Run("users", func(t *testing.T) { scenarioUsers(t, c, ts) })
	t.Run("asset objects", func(t *testing.T) { scenarioAssetObjects(t, c, ts) })
	t.Run("direct uploads", func(t *testing.T) { scenarioDirectUploads(t, c, ts) })
	t.Run("batches", func(t *testing.T) { scenarioBatches(t, c, ts) })

	t.Run("rate limit", func(t *testing.T) {
		rl := newServer(t, func(cfg *api.Config) { cfg.RateLimit = 1 })
		for _, p := range []struct{ method, path, body string }{
			{"GET", "/v3/ai-clipping", ""},
			{"GET", "/openapi.json", ""},
			{"POST", "/v3/ai-clipping", validBody},
			{"GET", "/v3/ai-clipping/x", ""},
			{"DELETE", "/v3/ai-clipping/x", ""},
			{"POST", "/v1/asset", "x"},
			{"POST", "/v3/assets", "x"},
		} {
			rl.Clock.Advance(time.Minute) // a full bucket: burst 2
			for i := range 3 {
				resp, body := c.call(t, rl, p.method, p.path, p.body, "x-api-key", key1, "Content-Type", "video/mp4")
				if i < 2 {
					if resp.StatusCode == http.StatusTooManyRequests {
						t.Errorf("%s %s: limited within the burst", p.method, p.path)
					}
					continue
				}
				wantError(t, resp, body, http.StatusTooManyRequests, clipping.CodeRateLimitExceeded, "")
				if got := resp.Header.Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After %q, want 1", got)
				}
			}
			// Another key has its own bucket.
			resp, body := c.call(t, rl, "GET", "/v3/ai-clipping", "", "x-api-key", key2)
			wantStatus(t, resp, body, http.StatusOK)
			// After Retry-After, it works again.
			rl.Clock.Advance(time.Second)
			resp, body = c.call(t, rl, "GET", "/healthz", "", "x-api-key", key1)
			wantStatus(t, resp, body, http.StatusOK)
			resp, body = c.call(t, rl, "GET", "/v3/ai-clipping", "", "x-api-key", key1)
			wantStatus(t, resp, body, http.StatusOK)
		}
		// Neither the health check nor file links are limited.
		for range 5 {
			resp, body := c.call(t, rl, "GET", "/healthz", "", "x-api-key", key1)
			wantStatus(t, resp, body, http.StatusOK)
			resp, body = c.call(t, rl, "GET", "/assets/x", "", "x-api-key", key1)
			wantStatus(t, resp, body, http.StatusUnauthorized)
		}
	})

	// Every operation was exercised, and every documented error example
	// was met word for word (but for the few TestOpenAPIErrorCodes checks).
	for _, tmpl := range sortedKeys(c.paths(t)) {
		for _, m := range methodsOf(c.paths(t)[tmpl].(map[string]any)) {
			if len(c.statuses[m+" "+tmpl]) == 0 {
				t.Errorf("the scenario never called %s %s", m, tmpl)
			}
		}
	}
	unreachable := map[string]bool{
		"#/components/responses/InternalError#example":  true,
		"#/components/responses/UploadTooLarge#example": true, // 2 GB
	}
	for _, ex := range c.errorExamples(t) {
		if !c.examples[ex] && !unreachable[ex] {
			t.Errorf("no answer in the scenario equalled the documented example %s", ex)
		}
	}
	var seen []string
	for _, op := range sortedKeys(c.statuses) {
		seen = append(seen, fmt.Sprintf("%s %v", op, slices.Sorted(func(yield func(int) bool) {
			for s := range c.statuses[op] {
				if !yield(s) {
					return
				}
			}
		})))
	}
	t.Logf("statuses checked:\n%s", strings.Join(seen, "\n"))
}

// checkFile fetches a signed file link whole, in part and its headers,
// without an API key.
func checkFile(t *testing.T, c *checker, ts *testServer, url, mimeType, content string) {
	t.Helper()
	resp, body := c.do(t, ts.Client(), ts.request(t, "GET", url, nil))
	wantStatus(t, resp, body, http.StatusOK)
	if string(body) != content || !mediaMatch(resp.Header.Get("Content-Type"), mimeType) {
		t.Errorf("GET %s: %s %q", url, resp.Header.Get("Content-Type"), body)
	}
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", url, nil, "Range", "bytes=2-5"))
	wantStatus(t, resp, body, http.StatusPartialContent)
	if string(body) != content[2:6] || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 2-5/%d", len(content)) {
		t.Errorf("GET %s bytes=2-5: %q, Content-Range %q", url, body, resp.Header.Get("Content-Range"))
	}
	resp, body = c.do(t, ts.Client(), ts.request(t, "HEAD", url, nil))
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(content)) {
		t.Errorf("HEAD %s: Content-Length %q, want %d", url, resp.Header.Get("Content-Length"), len(content))
	}
	// A HEAD with a range, and several ranges at once, as players send.
	resp, body = c.do(t, ts.Client(), ts.request(t, "HEAD", url, nil, "Range", "bytes=0-3"))
	wantStatus(t, resp, body, http.StatusPartialContent)
	resp, body = c.do(t, ts.Client(), ts.request(t, "GET", url, nil, "Range", "bytes=0-1,4-5"))
	wantStatus(t, resp, body, http.StatusPartialContent)
	// A browser revalidating its cached copy.
	modified := resp.Header.Get("Last-Modified")
	if modified == "" {
		t.Fatalf("GET %s: no Last-Modified", url)
	}
	for _, m := range []string{"GET", "HEAD"} {
		resp, body = c.do(t, ts.Client(), ts.request(t, m, url, nil, "If-Modified-Since", modified))
		wantStatus(t, resp, body, http.StatusNotModified)
	}
}

// altered changes the last character of a signed link's signature.
func altered(link string) string {
	last := "0"
	if strings.HasSuffix(link, "0") {
		last = "1"
	}
	return link[:len(link)-1] + last
}

func sortedSet(v []string) []string {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}
