package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cliSpec is a command of HeyGen's CLI, as its gen/*.go declares it.
type cliSpec struct {
	Endpoint, Method, BodyEncoding string
	RequestSchema, ResponseSchema  map[string]any
}

func loadCLISpec(t *testing.T, name string) cliSpec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "heygen-cli", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s cliSpec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// cliCall is one invocation of a CLI command.
type cliCall struct {
	path  map[string]string // path parameters
	query url.Values
	body  map[string]any // JSON body; nil sends none
	file  string         // multipart upload of this file
	key   string         // API key; default testKey
}

// cli sends the request HeyGen's CLI builds for a command (its
// internal/client executor and applyHeaders), and checks a 2xx answer
// against the command's response schema and any other against the error
// envelope the CLI parses.
func (s *testServer) cli(t *testing.T, spec cliSpec, c cliCall) resp {
	t.Helper()
	path := spec.Endpoint
	for k, v := range c.path {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	u := s.URL + path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader
	ct := ""
	switch {
	case spec.BodyEncoding == "multipart":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, _ := mw.CreateFormFile("file", filepath.Base(c.file))
		f, err := os.Open(c.file)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(part, f)
		f.Close()
		mw.Close()
		body, ct = &buf, mw.FormDataContentType()
	case c.body != nil:
		if errs := cliSchemaErrors(spec.RequestSchema, toJSONValue(t, c.body), "request"); len(errs) > 0 {
			t.Fatalf("the test's %s %s request is not the CLI's: %v", spec.Method, spec.Endpoint, errs)
		}
		b, _ := json.Marshal(c.body) // sorted keys, as the CLI's map marshals
		body, ct = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequest(spec.Method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", cmpOr(c.key, testKey))
	req.Header.Set("User-Agent", "heygen-cli/1.4.0")
	req.Header.Set("X-HeyGen-Source", "cli")
	req.Header.Set("X-HeyGen-Client-Origin", "claude_code")
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{res.StatusCode, res.Header, b}
	where := fmt.Sprintf("%s %s -> %d", spec.Method, path, r.status)
	if r.status >= 200 && r.status < 300 {
		if errs := cliSchemaErrors(spec.ResponseSchema, toJSONValue(t, b), "response"); len(errs) > 0 {
			t.Errorf("%s: the answer is not what the CLI's schema says: %v\n%s", where, errs, b)
		}
	} else if e := r.err(); e.Code == "" || e.Message == "" {
		t.Errorf("%s: not the error envelope the CLI parses: %s", where, b)
	}
	return r
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return out
}

// cliSchemaErrors checks v against one of the CLI's schemas (OpenAPI 3.0
// style, with nullable), strictly: a keyword it does not know is an error.
func cliSchemaErrors(schema map[string]any, v any, at string) []string {
	if schema == nil {
		return []string{at + ": no schema"}
	}
	var errs []string
	if v == nil {
		if schema["nullable"] == true {
			return nil
		}
		return []string{at + ": null, and not nullable"}
	}
	for k, want := range schema {
		switch k {
		case "description", "nullable", "title":
		case "type":
			if !cliType(want.(string), v) {
				errs = append(errs, fmt.Sprintf("%s: %T is not %s", at, v, want))
			}
		case "enum":
			if !slices.ContainsFunc(want.([]any), func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
				errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, want))
			}
		case "required":
			obj, _ := v.(map[string]any)
			for _, name := range want.([]any) {
				if _, ok := obj[name.(string)]; !ok {
					errs = append(errs, fmt.Sprintf("%s: no %s", at, name))
				}
			}
		case "properties":
			obj, _ := v.(map[string]any)
			for name, sub := range want.(map[string]any) {
				if pv, ok := obj[name]; ok {
					errs = append(errs, cliSchemaErrors(sub.(map[string]any), pv, at+"."+name)...)
				}
			}
		case "items":
			arr, _ := v.([]any)
			for i, e := range arr {
				errs = append(errs, cliSchemaErrors(want.(map[string]any), e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		default:
			errs = append(errs, fmt.Sprintf("%s: the checker does not know the keyword %q", at, k))
		}
	}
	return errs
}

func cliType(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		_, err := n.Int64()
		return ok && err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return false
}

// TestCLISchemaChecker: the checker refuses what it should, so that the
// replay's passing means something.
func TestCLISchemaChecker(t *testing.T) {
	spec := loadCLISpec(t, "AssetGet")
	good := `{"data":{"id":"a","name":"n","type":"video","owner":"o","space_id":"s","uploaded_at":1,"url":null,"folder_id":null}}`
	if errs := cliSchemaErrors(spec.ResponseSchema, toJSONValue(t, []byte(good)), "r"); len(errs) > 0 {
		t.Fatalf("a valid asset: %v", errs)
	}
	for _, bad := range []string{
		`{"data":{"id":"a","name":"n","type":"video","owner":"o","space_id":"s","url":null}}`,                   // no uploaded_at
		`{"data":{"id":"a","name":"n","type":"video","owner":"o","space_id":"s","uploaded_at":"1","url":null}}`, // a string
		`{"data":{"id":"a","name":"n","type":"video","owner":"o","space_id":"s","uploaded_at":1.5,"url":null}}`, // not an integer
		`{"data":{"id":null,"name":"n","type":"video","owner":"o","space_id":"s","uploaded_at":1,"url":null}}`,  // not nullable
		`{"data":[]}`,
	} {
		if errs := cliSchemaErrors(spec.ResponseSchema, toJSONValue(t, []byte(bad)), "r"); len(errs) == 0 {
			t.Errorf("passed: %s", bad)
		}
	}
}
