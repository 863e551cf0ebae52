package api_test

// openapi.json's schemas are JSON Schema 2020-12, as OpenAPI 3.1 uses
// them, checked with github.com/santhosh-tekuri/jsonschema/v6. Strictly:
// a keyword that neither JSON Schema nor OpenAPI defines is an error in
// the document, not something to skip, for a misspelt keyword would
// otherwise pass anything.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// docURL names openapi.json to the compiler. Its scheme has no loader, so
// a reference out of the document is an error.
const docURL = "https://clipmill.invalid/openapi.json"

// dialect is the strict form of OpenAPI 3.1's schema dialect: the 2020-12
// meta-schema, plus OpenAPI's discriminator and example and x- extensions,
// and nothing else, at every depth (through $dynamicAnchor "meta"). Of
// format, only what the validator checks (uri) or JSON cannot hold
// (binary).
const dialect = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"$dynamicAnchor": "meta",
	"$ref": "https://json-schema.org/draft/2020-12/schema",
	"properties": {
		"discriminator": {"type": "object", "required": ["propertyName", "mapping"], "additionalProperties": false,
			"properties": {"propertyName": {"type": "string"}, "mapping": {"additionalProperties": {"type": "string"}}}},
		"example": true,
		"format": {"enum": ["uri", "binary"]}
	},
	"patternProperties": {"^x-": true},
	"unevaluatedProperties": false
}`

// oasDoc is a parsed OpenAPI document: JSON values as decoded with
// UseNumber, so numbers keep their exact text, and its schemas compiled.
type oasDoc struct {
	root any

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	strict   *jsonschema.Schema
	compiled map[string]*jsonschema.Schema // by the schema's JSON
	inline   int                           // inline schemas added as resources
}

// newDoc parses an OpenAPI document and compiles every schema under
// components.schemas.
func newDoc(b []byte) (*oasDoc, error) {
	root, err := parseJSON(b)
	if err != nil {
		return nil, err
	}
	meta, err := parseJSON([]byte(dialect))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(docURL, root); err != nil {
		return nil, err
	}
	if err := c.AddResource("https://clipmill.invalid/dialect.json", meta); err != nil {
		return nil, err
	}
	d := &oasDoc{root: root, compiler: c, compiled: map[string]*jsonschema.Schema{}}
	if d.strict, err = c.Compile("https://clipmill.invalid/dialect.json"); err != nil {
		return nil, err
	}
	schemas, _ := d.ptr("#/components/schemas")
	m, _ := schemas.(map[string]any)
	for _, name := range sortedKeys(m) {
		if _, err := d.compile(map[string]any{"$ref": "#/components/schemas/" + name}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// parseJSON decodes one JSON value keeping numbers as json.Number, and
// refuses trailing data.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

func loadDoc(tb testing.TB) *oasDoc {
	tb.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := newDoc(b)
	if err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	return d
}

// ptr resolves a JSON pointer ("#/components/schemas/Job") in the document.
func (d *oasDoc) ptr(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("only local references are supported, not %q", ref)
	}
	cur := d.root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%s: no %q", ref, tok)
		}
	}
	return cur, nil
}

// get walks plain keys from the root, failing the test if one is missing.
func (d *oasDoc) get(tb testing.TB, keys ...string) any {
	tb.Helper()
	cur := d.root
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			tb.Fatalf("openapi.json: %s is not an object", strings.Join(keys[:i], "."))
		}
		if cur, ok = m[k]; !ok {
			tb.Fatalf("openapi.json: no %s", strings.Join(keys[:i+1], "."))
		}
	}
	return cur
}

// deref follows $ref until it reaches an object without one (for
// response, parameter and header objects, where $ref has no siblings).
func (d *oasDoc) deref(tb testing.TB, v any) map[string]any {
	tb.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			tb.Fatalf("openapi.json: %v is not an object", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if v, err = d.ptr(ref); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Fatal("openapi.json: $ref chain too long")
	return nil
}

// compile compiles a schema of the document: a reference into it, or a
// schema written inline (in a media type, a header, a property).
func (d *oasDoc) compile(schema any) (*jsonschema.Schema, error) {
	key := compact(schema)
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.compiled[key]; ok {
		return s, nil
	}
	loc := docURL
	m, _ := schema.(map[string]any)
	ref, isRef := m["$ref"].(string)
	if isRef && len(m) == 1 && strings.HasPrefix(ref, "#/") {
		target, err := d.ptr(ref)
		if err != nil {
			return nil, err
		}
		schema, loc = target, docURL+ref
	} else {
		// An inline schema is a resource of its own, whose references
		// point back into the document.
		d.inline++
		loc = fmt.Sprintf("https://clipmill.invalid/inline/%d.json", d.inline)
		if err := d.compiler.AddResource(loc, rebase(schema)); err != nil {
			return nil, err
		}
	}
	if err := d.strict.Validate(schema); err != nil {
		return nil, fmt.Errorf("%s is not in OpenAPI's dialect: %w", loc, err)
	}
	s, err := d.compiler.Compile(loc)
	if err != nil {
		return nil, err
	}
	d.compiled[key] = s
	return s, nil
}

// rebase copies a schema with its local references ("#/...") made
// absolute references into the document.
func rebase(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if ref, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(ref, "#") {
				e = docURL + ref
			}
			out[k] = rebase(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rebase(e)
		}
		return out
	}
	return v
}

// validate checks inst against the schema and returns its problems: a
// schema error alone, or what is wrong with the instance.
func (d *oasDoc) validate(schema, inst any) []string {
	s, err := d.compile(schema)
	if err != nil {
		return []string{"schema error: " + err.Error()}
	}
	if err := s.Validate(inst); err != nil {
		return []string{err.Error()}
	}
	return nil
}

// validateRef validates inst against "#/components/schemas/<name>" etc.
func (d *oasDoc) validateRef(ref string, inst any) []string {
	return d.validate(map[string]any{"$ref": ref}, inst)
}

func rat(n json.Number) *big.Rat {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		panic("not a JSON number: " + string(n))
	}
	return r
}

// jsonEqual is JSON Schema equality: numbers by value, objects by members.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && rat(x).Cmp(rat(y)) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	default: // string, bool, nil
		return a == b
	}
}

func stringList(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		return []string{s}, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, e := range list {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v any) string {
	s := compact(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// TestValidator checks the validator as set up here, so that a test
// passing with it means something: it must refuse what it should, and
// refuse schemas with keywords that OpenAPI does not define.
func TestValidator(t *testing.T) {
	doc, err := newDoc([]byte(`{"components": {"schemas": {
		"Pet": {"type": "object", "additionalProperties": false, "required": ["kind"],
			"properties": {"kind": {"const": "cat"}, "lives": {"type": "integer", "minimum": 0, "maximum": 9}}},
		"Dog": {"type": "object", "additionalProperties": false, "required": ["kind"],
			"properties": {"kind": {"const": "dog"}, "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 3, "pattern": "^[a-z]+$"}}},
		"Either": {"oneOf": [{"$ref": "#/components/schemas/Pet"}, {"$ref": "#/components/schemas/Dog"}],
			"discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Pet", "dog": "#/components/schemas/Dog"}}},
		"List": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"enum": ["a", "b", null]}},
		"Maybe": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/List"}]},
		"Both": {"allOf": [{"required": ["a"]}, {"required": ["b"]}]},
		"Link": {"type": "string", "format": "uri", "x-note": "an extension", "example": "https://example.com"}
	}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		schema string
		inst   string
		valid  bool
	}{
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": 9}`, true},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": 9.0}`, true}, // 9.0 is an integer in JSON Schema
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": 1e1}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": 8.5}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": -1}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "lives": "9"}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"kind": "cat", "extra": 1}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `{"lives": 1}`, false},
		{`{"$ref": "#/components/schemas/Pet"}`, `[]`, false},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": null}`, true},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": "rex"}`, true},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": "rexy"}`, false},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": ""}`, false},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": "Rex"}`, false},
		{`{"$ref": "#/components/schemas/Dog"}`, `{"kind": "dog", "name": "ééé"}`, false}, // 3 characters, but not [a-z]
		{`{"$ref": "#/components/schemas/Either"}`, `{"kind": "dog"}`, true},
		{`{"$ref": "#/components/schemas/Either"}`, `{"kind": "cat", "lives": 3}`, true},
		{`{"$ref": "#/components/schemas/Either"}`, `{"kind": "cow"}`, false},
		{`{"$ref": "#/components/schemas/Either"}`, `{"kind": "dog", "lives": 3}`, false},
		{`{"$ref": "#/components/schemas/Either"}`, `{}`, false},
		{`{"$ref": "#/components/schemas/List"}`, `["a"]`, true},
		{`{"$ref": "#/components/schemas/List"}`, `["a", null]`, true},
		{`{"$ref": "#/components/schemas/List"}`, `[]`, false},
		{`{"$ref": "#/components/schemas/List"}`, `["a", "b", "a"]`, false},
		{`{"$ref": "#/components/schemas/List"}`, `["c"]`, false},
		{`{"$ref": "#/components/schemas/Maybe"}`, `null`, true},
		{`{"$ref": "#/components/schemas/Maybe"}`, `["b"]`, true},
		{`{"$ref": "#/components/schemas/Maybe"}`, `"b"`, false},
		{`{"$ref": "#/components/schemas/Both"}`, `{"a": 1, "b": 2}`, true},
		{`{"$ref": "#/components/schemas/Both"}`, `{"a": 1}`, false},
		{`{"$ref": "#/components/schemas/Link"}`, `"https://example.com/x"`, true},
		{`{"$ref": "#/components/schemas/Link"}`, `"/relative"`, false},
		// Inline schemas, as media types and headers have, with references
		// into the document.
		{`{"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}`, `[{"kind": "cat"}]`, true},
		{`{"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}`, `[{"kind": "dog"}]`, false},
		{`{"type": "integer", "minimum": 1}`, `0`, false},
	}
	for _, c := range cases {
		schema, err := parseJSON([]byte(c.schema))
		if err != nil {
			t.Fatal(err)
		}
		inst, err := parseJSON([]byte(c.inst))
		if err != nil {
			t.Fatal(err)
		}
		errs := doc.validate(schema, inst)
		if got := len(errs) == 0; got != c.valid {
			t.Errorf("%s against %s: valid = %v, want %v (%v)", c.inst, c.schema, got, c.valid, errs)
		}
	}

	// Schemas it cannot apply are errors, also deep inside, and wherever
	// the instance would pass.
	for _, s := range []string{
		`{"type": "string", "minLenght": 1}`,
		`{"oneOf": [{"type": "null"}, {"type": "string", "nullable": true}]}`,
		`{"properties": {"a": {"type": "array", "items": {"exmaple": 1}}}}`,
		`{"type": "string", "format": "emial"}`,
		`{"type": "strnig"}`,
		`{"items": [{"type": "string"}]}`,
		`{"discriminator": {"propertyName": "kind"}}`,
		`{"$ref": "#/components/schemas/Nope"}`,
		`{"$ref": "other.json#/x"}`,
		`{"pattern": "("}`,
	} {
		schema, err := parseJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		errs := doc.validate(schema, nil)
		if len(errs) == 0 || !strings.HasPrefix(errs[0], "schema error") {
			t.Errorf("schema %s: want a schema error, got %v", s, errs)
		}
	}

	// A document whose components do not compile is refused whole.
	if _, err := newDoc([]byte(`{"components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}}}}`)); err == nil {
		t.Error("newDoc compiled a reference to a missing schema")
	}
	if _, err := newDoc([]byte(`{"components": {"schemas": {"A": {"type": "object", "requried": ["a"]}}}}`)); err == nil {
		t.Error("newDoc compiled a misspelt keyword")
	}
}

// TestOpenAPISchemasCompile: every schema of openapi.json compiles in the
// strict dialect.
func TestOpenAPISchemasCompile(t *testing.T) {
	doc := loadDoc(t)
	schemas := doc.get(t, "components", "schemas").(map[string]any)
	if len(doc.compiled) != len(schemas) || len(schemas) < 21 {
		t.Errorf("compiled %d of %d schemas", len(doc.compiled), len(schemas))
	}
}
