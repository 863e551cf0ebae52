package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// checker holds every answer of the handler against openapi.json: the
// status must be documented for the operation, the documented headers
// present and valid, the Content-Type one of the documented media types,
// and a JSON body valid against the documented schema. It remembers what
// it saw, so a test can tell which operations, statuses and error
// examples it covered.
type checker struct {
	doc *oasDoc

	mu       sync.Mutex
	statuses map[string]map[int]bool // "GET /healthz" -> statuses seen
	examples map[string]bool         // error examples some answer equalled
}

func newChecker(t testing.TB) *checker {
	return &checker{doc: loadDoc(t), statuses: map[string]map[int]bool{}, examples: map[string]bool{}}
}

// methodsOf lists the HTTP methods (upper case) of a path item.
func methodsOf(item map[string]any) []string {
	var ms []string
	for k := range item {
		switch k {
		case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			ms = append(ms, strings.ToUpper(k))
		}
	}
	slices.Sort(ms)
	return ms
}

func (c *checker) paths(t testing.TB) map[string]any {
	return c.doc.get(t, "paths").(map[string]any)
}

// route finds the documented path template that a request path falls
// under: literal segments equal, {parameters} any non-empty segment.
func (c *checker) route(t testing.TB, path string) (string, map[string]any) {
	segs := strings.Split(path, "/")
	for _, tmpl := range sortedKeys(c.paths(t)) {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
				match = match && segs[i] != ""
			} else {
				match = match && ts[i] == segs[i]
			}
		}
		if match {
			return tmpl, c.paths(t)[tmpl].(map[string]any)
		}
	}
	return "", nil
}

// do sends req and checks the answer; it returns the answer with its body
// read.
func (c *checker) do(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	c.check(t, req.Method, req.URL.Path, resp, body)
	return resp, body
}

// check holds one answer against the document.
func (c *checker) check(t testing.TB, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	status := resp.StatusCode
	where := fmt.Sprintf("%s %s -> %d", method, path, status)
	tmpl, item := c.route(t, path)
	if tmpl == "" {
		// Not an API path: the catch-all answers a JSON 404.
		if status != http.StatusNotFound {
			t.Errorf("%s: a path the document does not have answered %d, not 404", where, status)
		}
		c.checkJSONError(t, where, method, resp, body, "not_found")
		if method != http.MethodHead && !strings.Contains(string(body), `"No endpoint `) {
			t.Errorf("%s: want the catch-all's \"No endpoint\" message, got %s", where, body)
		}
		return
	}
	op, documented := item[strings.ToLower(method)].(map[string]any)
	if !documented {
		// A documented path asked with another method: the handler's 405,
		// described once in components.responses.MethodNotAllowed.
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s: %s is not documented for %s, so want 405, got %d (%s)", where, method, tmpl, status, body)
			return
		}
		if got, want := resp.Header.Get("Allow"), strings.Join(methodsOf(item), ", "); got != want {
			t.Errorf("%s: Allow %q, want the documented methods %q", where, got, want)
		}
		ref := "#/components/responses/MethodNotAllowed"
		c.checkResponse(t, where, method, ref, c.doc.deref(t, map[string]any{"$ref": ref}), resp, body)
		return
	}
	opName := method + " " + tmpl
	c.mu.Lock()
	if c.statuses[opName] == nil {
		c.statuses[opName] = map[int]bool{}
	}
	c.statuses[opName][status] = true
	c.mu.Unlock()

	responses := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	raw, ok := responses[code]
	if !ok {
		t.Errorf("%s: status %d is not documented for %s (documented: %v); body %s", where, status, opName, sortedKeys(responses), body)
		return
	}
	loc := "paths." + tmpl + "." + strings.ToLower(method) + ".responses." + code
	if m, ok := raw.(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			loc = ref
		}
	}
	if status == http.StatusNotFound && strings.Contains(string(body), `"No endpoint `) {
		t.Errorf("%s: a documented operation fell through to the catch-all: %s", where, body)
	}
	c.checkResponse(t, where, method, loc, c.doc.deref(t, raw), resp, body)
}

// checkResponse holds an answer against one documented response object,
// found at loc.
func (c *checker) checkResponse(t testing.TB, where, method, loc string, rdoc map[string]any, resp *http.Response, body []byte) {
	t.Helper()
	// Headers: every documented one is promised (it must be there),
	// except Idempotent-Replayed, which is absent unless replaying; any
	// that is there must fit its schema.
	if hs, ok := rdoc["headers"].(map[string]any); ok {
		for _, name := range sortedKeys(hs) {
			h := c.doc.deref(t, hs[name])
			v := resp.Header.Get(name)
			if v == "" {
				if name != "Idempotent-Replayed" {
					t.Errorf("%s: documented header %s is missing", where, name)
				}
				continue
			}
			var inst any = v
			if s, _ := h["schema"].(map[string]any); s["type"] == "integer" || s["type"] == "number" {
				n, err := parseJSON([]byte(v))
				if _, isNum := n.(json.Number); err != nil || !isNum {
					t.Errorf("%s: header %s: %q is not a number", where, name, v)
					continue
				}
				inst = n
			}
			for _, e := range c.doc.validate(h["schema"], inst) {
				t.Errorf("%s: header %s %q: %s", where, name, v, e)
			}
		}
	}
	content, _ := rdoc["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			t.Errorf("%s: no content is documented, but the body is %q", where, body)
		}
		return
	}
	ct := resp.Header.Get("Content-Type")
	var key string
	for _, k := range sortedKeys(content) {
		if mediaMatch(ct, k) {
			key = k
			break
		}
	}
	if key == "" {
		t.Errorf("%s: Content-Type %q is none of the documented %v", where, ct, sortedKeys(content))
		return
	}
	if method == http.MethodHead {
		if len(body) > 0 {
			t.Errorf("%s: a HEAD answer has a body", where)
		}
		return
	}
	if key != "application/json" {
		return // bytes of a file: the media type is all there is to check
	}
	if ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want exactly application/json", where, ct)
	}
	inst, err := parseJSON(body)
	if err != nil {
		t.Errorf("%s: the body is not JSON: %v: %q", where, err, body)
		return
	}
	media := content[key].(map[string]any)
	for _, e := range c.doc.validate(media["schema"], inst) {
		t.Errorf("%s: body %s: %s", where, describe(inst), e)
	}
	// An error that equals a documented example shows the example is real.
	for name, ex := range mediaExamples(media) {
		if jsonEqual(ex, inst) {
			c.mu.Lock()
			c.examples[loc+"#"+name] = true
			c.mu.Unlock()
		}
	}
}

// checkJSONError checks an answer that no operation documents (the
// catch-all) against the error envelope.
func (c *checker) checkJSONError(t testing.TB, where, method string, resp *http.Response, body []byte, code string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", where, ct)
	}
	if method == http.MethodHead {
		return
	}
	inst, err := parseJSON(body)
	if err != nil {
		t.Errorf("%s: the body is not JSON: %v", where, err)
		return
	}
	for _, e := range c.doc.validateRef("#/components/schemas/ErrorResponse", inst) {
		t.Errorf("%s: %s", where, e)
	}
	if got := errorCode(inst); got != code {
		t.Errorf("%s: error code %q, want %q", where, got, code)
	}
}

// mediaExamples returns a media type object's examples by name: "example"
// for the single one, else the names under "examples".
func mediaExamples(media map[string]any) map[string]any {
	out := map[string]any{}
	if ex, ok := media["example"]; ok {
		out["example"] = ex
	}
	if exs, ok := media["examples"].(map[string]any); ok {
		for name, e := range exs {
			if v, ok := e.(map[string]any)["value"]; ok {
				out[name] = v
			}
		}
	}
	return out
}

func errorCode(inst any) string {
	obj, _ := inst.(map[string]any)
	e, _ := obj["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// mediaMatch reports whether a Content-Type falls under a documented
// media type key, which may be a range such as video/*.
func mediaMatch(contentType, key string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if prefix, ok := strings.CutSuffix(key, "*"); ok {
		return strings.HasPrefix(mt, prefix) && strings.HasSuffix(prefix, "/")
	}
	return mt == key
}

// errorExamples lists every documented example of an error answer (4xx
// or 5xx) as checker.examples names them.
func (c *checker) errorExamples(t testing.TB) []string {
	var out []string
	seen := map[string]bool{}
	for _, tmpl := range sortedKeys(c.paths(t)) {
		item := c.paths(t)[tmpl].(map[string]any)
		for _, m := range methodsOf(item) {
			responses := item[strings.ToLower(m)].(map[string]any)["responses"].(map[string]any)
			for _, code := range sortedKeys(responses) {
				if code < "400" {
					continue
				}
				loc := "paths." + tmpl + "." + strings.ToLower(m) + ".responses." + code
				if ref, ok := responses[code].(map[string]any)["$ref"].(string); ok {
					loc = ref
				}
				if seen[loc] {
					continue
				}
				seen[loc] = true
				rdoc := c.doc.deref(t, responses[code])
				content, _ := rdoc["content"].(map[string]any)
				if media, ok := content["application/json"].(map[string]any); ok {
					for _, name := range sortedKeys(mediaExamples(media)) {
						out = append(out, loc+"#"+name)
					}
				}
			}
		}
	}
	return out
}
