package api_test

// A small, strict JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator
// for the subset of keywords that openapi.json uses. Strict means that a
// keyword it does not know is an error in the schema, not something to
// skip: a validator that ignores what it cannot read would pass anything.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// annotations are keywords that never change whether an instance is valid.
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "example": true, "examples": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "$comment": true,
}

// oasDoc is a parsed OpenAPI document: JSON values as decoded with
// UseNumber, so numbers keep their exact text.
type oasDoc struct {
	root any

	mu       sync.Mutex
	patterns map[string]*regexp.Regexp
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
	root, err := parseJSON(b)
	if err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	return &oasDoc{root: root, patterns: map[string]*regexp.Regexp{}}
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

func (d *oasDoc) pattern(p string) (*regexp.Regexp, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if re, ok := d.patterns[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	d.patterns[p] = re
	return re, nil
}

// validation is one run of the validator: instance errors, and schema
// errors (keywords it cannot apply), which are kept even when they occur
// inside a oneOf branch that is then discarded.
type validation struct {
	doc        *oasDoc
	schemaErrs []string
}

// validate checks inst against the schema and returns every problem, the
// schema's own first.
func (d *oasDoc) validate(schema, inst any) []string {
	v := &validation{doc: d}
	errs := v.check(schema, inst, "$", 0)
	return append(v.schemaErrs, errs...)
}

// validateRef validates inst against "#/components/schemas/<name>" etc.
func (d *oasDoc) validateRef(ref string, inst any) []string {
	return d.validate(map[string]any{"$ref": ref}, inst)
}

func (v *validation) schemaErr(path, format string, args ...any) {
	v.schemaErrs = append(v.schemaErrs, "schema error at "+path+": "+fmt.Sprintf(format, args...))
}

func (v *validation) check(schema, inst any, path string, depth int) []string {
	if depth > 64 {
		v.schemaErr(path, "schema nesting too deep (a $ref cycle?)")
		return nil
	}
	switch s := schema.(type) {
	case bool:
		if !s {
			return []string{path + ": the schema false allows nothing"}
		}
		return nil
	case map[string]any:
		return v.object(s, inst, path, depth)
	default:
		v.schemaErr(path, "a schema must be an object or a boolean, not %T", schema)
		return nil
	}
}

func (v *validation) object(s map[string]any, inst any, path string, depth int) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	// Keywords in a fixed order, so the messages are stable.
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := s[k]
		switch {
		case annotations[k] || strings.HasPrefix(k, "x-"):
			continue
		case k == "$ref":
			ref, ok := val.(string)
			if !ok {
				v.schemaErr(path, "$ref must be a string")
				continue
			}
			target, err := v.doc.ptr(ref)
			if err != nil {
				v.schemaErr(path, "%v", err)
				continue
			}
			errs = append(errs, v.check(target, inst, path, depth+1)...)
		case k == "type":
			types, ok := stringList(val)
			if !ok || len(types) == 0 {
				v.schemaErr(path, "type must be a string or a list of strings")
				continue
			}
			match := false
			for _, t := range types {
				ok, known := hasType(inst, t)
				if !known {
					v.schemaErr(path, "unknown type %q", t)
				}
				match = match || ok
			}
			if !match {
				fail("%s is not of type %s", describe(inst), strings.Join(types, " or "))
			}
		case k == "enum":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				v.schemaErr(path, "enum must be a non-empty array")
				continue
			}
			found := false
			for _, e := range list {
				found = found || jsonEqual(e, inst)
			}
			if !found {
				fail("%s is not one of %s", describe(inst), compact(val))
			}
		case k == "const":
			if !jsonEqual(val, inst) {
				fail("%s is not %s", describe(inst), compact(val))
			}
		case k == "required":
			names, ok := stringList(val)
			if !ok {
				v.schemaErr(path, "required must be a list of strings")
				continue
			}
			if obj, ok := inst.(map[string]any); ok {
				for _, n := range names {
					if _, ok := obj[n]; !ok {
						fail("required property %q is missing", n)
					}
				}
			}
		case k == "properties":
			props, ok := val.(map[string]any)
			if !ok {
				v.schemaErr(path, "properties must be an object")
				continue
			}
			if obj, ok := inst.(map[string]any); ok {
				for _, n := range sortedKeys(props) {
					if m, ok := obj[n]; ok {
						errs = append(errs, v.check(props[n], m, path+"."+n, depth+1)...)
					}
				}
			}
		case k == "additionalProperties":
			obj, ok := inst.(map[string]any)
			if !ok {
				continue
			}
			props, _ := s["properties"].(map[string]any)
			for _, n := range sortedKeys(obj) {
				if _, declared := props[n]; declared {
					continue
				}
				errs = append(errs, v.check(val, obj[n], path+"."+n, depth+1)...)
			}
		case k == "items":
			if _, ok := val.([]any); ok {
				v.schemaErr(path, "items as an array is draft-04 style; 2020-12 uses prefixItems")
				continue
			}
			if arr, ok := inst.([]any); ok {
				for i, e := range arr {
					errs = append(errs, v.check(val, e, fmt.Sprintf("%s[%d]", path, i), depth+1)...)
				}
			}
		case k == "minItems" || k == "maxItems" || k == "minLength" || k == "maxLength":
			n, ok := nonNegInt(val)
			if !ok {
				v.schemaErr(path, "%s must be a non-negative integer", k)
				continue
			}
			var got int
			switch x := inst.(type) {
			case []any:
				if k == "minLength" || k == "maxLength" {
					continue
				}
				got = len(x)
			case string:
				if k == "minItems" || k == "maxItems" {
					continue
				}
				got = utf8.RuneCountInString(x) // characters, as JSON Schema counts
			default:
				continue
			}
			if strings.HasPrefix(k, "min") && got < n || strings.HasPrefix(k, "max") && got > n {
				fail("length %d breaks %s %d", got, k, n)
			}
		case k == "minimum" || k == "maximum":
			lim, ok := val.(json.Number)
			if !ok {
				v.schemaErr(path, "%s must be a number", k)
				continue
			}
			num, ok := inst.(json.Number)
			if !ok {
				continue
			}
			c := rat(num).Cmp(rat(lim))
			if k == "minimum" && c < 0 || k == "maximum" && c > 0 {
				fail("%s breaks %s %s", num, k, lim)
			}
		case k == "pattern":
			p, ok := val.(string)
			if !ok {
				v.schemaErr(path, "pattern must be a string")
				continue
			}
			re, err := v.doc.pattern(p)
			if err != nil {
				v.schemaErr(path, "pattern %q: %v", p, err)
				continue
			}
			if str, ok := inst.(string); ok && !re.MatchString(str) {
				fail("%q does not match %s", str, p)
			}
		case k == "format":
			f, _ := val.(string)
			str, ok := inst.(string)
			switch f {
			case "uri":
				if ok {
					if u, err := url.Parse(str); err != nil || !u.IsAbs() {
						fail("%q is not an absolute URI", str)
					}
				}
			case "binary":
				// Bytes of a non-JSON body: nothing to check in JSON.
			default:
				v.schemaErr(path, "unsupported format %q", f)
			}
		case k == "oneOf" || k == "anyOf" || k == "allOf":
			list, ok := val.([]any)
			if !ok || len(list) == 0 {
				v.schemaErr(path, "%s must be a non-empty array", k)
				continue
			}
			var passed int
			var sub []string
			for i, branch := range list {
				e := v.check(branch, inst, path, depth+1)
				if len(e) == 0 {
					passed++
				}
				for _, m := range e {
					sub = append(sub, fmt.Sprintf("[%s %d] %s", k, i, m))
				}
			}
			switch {
			case k == "oneOf" && passed != 1:
				fail("matches %d of the oneOf schemas, not exactly one: %s", passed, strings.Join(sub, "; "))
			case k == "anyOf" && passed == 0:
				fail("matches none of the anyOf schemas: %s", strings.Join(sub, "; "))
			case k == "allOf" && passed != len(list):
				errs = append(errs, sub...)
			}
		case k == "discriminator":
			errs = append(errs, v.discriminator(val, inst, path, depth)...)
		default:
			v.schemaErr(path, "unsupported keyword %q", k)
		}
	}
	return errs
}

// discriminator checks OpenAPI's discriminator: the named property must
// be present, listed in the mapping, and the instance must be valid
// against the schema the mapping names.
func (v *validation) discriminator(val, inst any, path string, depth int) []string {
	d, ok := val.(map[string]any)
	prop, _ := d["propertyName"].(string)
	mapping, _ := d["mapping"].(map[string]any)
	if !ok || prop == "" || mapping == nil {
		v.schemaErr(path, "discriminator needs propertyName and mapping")
		return nil
	}
	for k := range d {
		if k != "propertyName" && k != "mapping" && !strings.HasPrefix(k, "x-") {
			v.schemaErr(path, "unsupported discriminator field %q", k)
		}
	}
	obj, ok := inst.(map[string]any)
	if !ok {
		return nil // type and oneOf report it
	}
	tag, ok := obj[prop].(string)
	if !ok {
		return []string{fmt.Sprintf("%s: discriminator %q is missing or not a string", path, prop)}
	}
	ref, ok := mapping[tag].(string)
	if !ok {
		return []string{fmt.Sprintf("%s: discriminator value %q is not in the mapping", path, tag)}
	}
	return v.check(map[string]any{"$ref": ref}, inst, path, depth+1)
}

// hasType reports whether inst has JSON Schema type t, and whether t is a
// type at all.
func hasType(inst any, t string) (ok, known bool) {
	switch t {
	case "null":
		return inst == nil, true
	case "boolean":
		_, ok := inst.(bool)
		return ok, true
	case "string":
		_, ok := inst.(string)
		return ok, true
	case "object":
		_, ok := inst.(map[string]any)
		return ok, true
	case "array":
		_, ok := inst.([]any)
		return ok, true
	case "number":
		_, ok := inst.(json.Number)
		return ok, true
	case "integer":
		n, ok := inst.(json.Number)
		return ok && rat(n).IsInt(), true
	}
	return false, false
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

func nonNegInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return int(i), err == nil && i >= 0
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

// TestValidator checks the validator itself, so that a test passing with
// it means something: it must refuse what it should, and refuse to run on
// keywords it does not know.
func TestValidator(t *testing.T) {
	doc := &oasDoc{patterns: map[string]*regexp.Regexp{}}
	root, err := parseJSON([]byte(`{"components": {"schemas": {
		"Pet": {"type": "object", "additionalProperties": false, "required": ["kind"],
			"properties": {"kind": {"const": "cat"}, "lives": {"type": "integer", "minimum": 0, "maximum": 9}}},
		"Dog": {"type": "object", "additionalProperties": false, "required": ["kind"],
			"properties": {"kind": {"const": "dog"}, "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 3, "pattern": "^[a-z]+$"}}},
		"Either": {"oneOf": [{"$ref": "#/components/schemas/Pet"}, {"$ref": "#/components/schemas/Dog"}],
			"discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Pet", "dog": "#/components/schemas/Dog"}}},
		"List": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"enum": ["a", "b", null]}},
		"Maybe": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/List"}]},
		"Both": {"allOf": [{"required": ["a"]}, {"required": ["b"]}]},
		"Link": {"type": "string", "format": "uri"}
	}}}`))
	if err != nil {
		t.Fatal(err)
	}
	doc.root = root
	cases := []struct {
		ref   string
		inst  string
		valid bool
	}{
		{"Pet", `{"kind": "cat", "lives": 9}`, true},
		{"Pet", `{"kind": "cat", "lives": 9.0}`, true}, // 9.0 is an integer in JSON Schema
		{"Pet", `{"kind": "cat", "lives": 1e1}`, false},
		{"Pet", `{"kind": "cat", "lives": 8.5}`, false},
		{"Pet", `{"kind": "cat", "lives": -1}`, false},
		{"Pet", `{"kind": "cat", "lives": "9"}`, false},
		{"Pet", `{"kind": "cat", "extra": 1}`, false},
		{"Pet", `{"lives": 1}`, false},
		{"Pet", `[]`, false},
		{"Dog", `{"kind": "dog", "name": null}`, true},
		{"Dog", `{"kind": "dog", "name": "rex"}`, true},
		{"Dog", `{"kind": "dog", "name": "rexy"}`, false},
		{"Dog", `{"kind": "dog", "name": ""}`, false},
		{"Dog", `{"kind": "dog", "name": "Rex"}`, false},
		{"Dog", `{"kind": "dog", "name": "ééé"}`, false}, // 3 characters, but not [a-z]
		{"Either", `{"kind": "dog"}`, true},
		{"Either", `{"kind": "cat", "lives": 3}`, true},
		{"Either", `{"kind": "cow"}`, false},
		{"Either", `{"kind": "dog", "lives": 3}`, false},
		{"Either", `{}`, false},
		{"List", `["a"]`, true},
		{"List", `["a", null]`, true},
		{"List", `[]`, false},
		{"List", `["a", "b", "a"]`, false},
		{"List", `["c"]`, false},
		{"Maybe", `null`, true},
		{"Maybe", `["b"]`, true},
		{"Maybe", `"b"`, false},
		{"Both", `{"a": 1, "b": 2}`, true},
		{"Both", `{"a": 1}`, false},
		{"Link", `"https://example.com/x"`, true},
		{"Link", `"/relative"`, false},
	}
	for _, c := range cases {
		inst, err := parseJSON([]byte(c.inst))
		if err != nil {
			t.Fatal(err)
		}
		errs := doc.validateRef("#/components/schemas/"+c.ref, inst)
		if got := len(errs) == 0; got != c.valid {
			t.Errorf("%s against %s: valid = %v, want %v (%v)", c.inst, c.ref, got, c.valid, errs)
		}
	}

	// Keywords the validator cannot apply are errors, also inside a oneOf
	// branch that fails anyway, and wherever the instance would pass.
	for _, s := range []string{
		`{"type": "string", "minContains": 1}`,
		`{"oneOf": [{"type": "null"}, {"type": "string", "unevaluatedProperties": false}]}`,
		`{"type": "string", "format": "email"}`,
		`{"type": "strnig"}`,
		`{"items": [{"type": "string"}]}`,
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
}
