package api_test

// FuzzCreate throws bodies at POST /v3/ai-clipping and at the decoder
// behind it. Run it with
//
//	go test ./internal/api/ -run '^$' -fuzz FuzzCreate -fuzztime 60s
//
// Without -fuzz, the seed corpus below runs as a plain test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/store/sqlite"
	"github.com/clipmill/clipmill/internal/urlsign"
)

const (
	fuzzMaxJSON = 64 << 10
	fuzzAsset   = "fuzzasset" // uploaded with key1 in every fuzz store
)

// fuzzEnv is one handler over one SQLite store, made once per fuzzing
// process (each -fuzz worker runs FuzzCreate's body once).
type fuzzEnv struct {
	h     http.Handler
	store *sqlite.Store
	doc   *oasDoc
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	st, err := sqlite.Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	err = st.CreateAsset(context.Background(), &store.Asset{ID: fuzzAsset, Owner: ownerOf(key1),
		Path: filepath.Join(f.TempDir(), "asset"), MimeType: "video/mp4", Size: 1, CreatedAt: time.Now()})
	if err != nil {
		f.Fatal(err)
	}
	h := api.New(api.Config{
		Store: st, Keys: []string{key1}, DataDir: f.TempDir(), Files: &urlsign.Signer{Secret: []byte("s")},
		PublicURL: "http://clipmill.test", Runner: &fakeRunner{}, MaxJSON: fuzzMaxJSON, Log: discardLog(),
	})
	return &fuzzEnv{h: h, store: st, doc: loadDoc(f)}
}

func FuzzCreate(f *testing.F) {
	for _, s := range createSeeds() {
		f.Add([]byte(s))
	}
	env := newFuzzEnv(f)
	f.Fuzz(env.check)
}

func (env *fuzzEnv) serve(method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("x-api-key", key1)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	env.h.ServeHTTP(rec, req)
	return rec
}

// check holds one body to the rules; t.Fatalf ends the input.
func (env *fuzzEnv) check(t *testing.T, body []byte) {
	// The decoder on its own.
	req, decErr := clipping.DecodeCreateRequest(body, clipping.Options{})
	var want *clipping.Error
	if decErr != nil {
		var ok bool
		if want, ok = clipping.AsError(decErr); !ok || want.Code != clipping.CodeInvalidParameter || want.Message == "" {
			t.Fatalf("the decoder refused %q with %#v, not an invalid_parameter error", body, decErr)
		}
	} else {
		env.checkAccepted(t, body, req)
	}

	// The handler.
	rec := env.serve("POST", "/v3/ai-clipping", body)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%d with Content-Type %q", rec.Code, ct)
	}
	inst, err := parseJSON(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("%d: the body is not JSON: %q", rec.Code, rec.Body)
	}
	switch {
	case len(body) > fuzzMaxJSON:
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("a %d-byte body over the %d-byte cap answered %d: %s", len(body), fuzzMaxJSON, rec.Code, rec.Body)
		}
		env.mustValidate(t, "#/components/schemas/ErrorResponse", inst)
		if errorCode(inst) != clipping.CodePayloadTooLarge {
			t.Fatalf("413 with %s", rec.Body)
		}
	case rec.Code == http.StatusBadRequest:
		env.mustValidate(t, "#/components/schemas/ErrorResponse", inst)
		got := decodeAs[clipping.ErrorBody](t, rec.Body.Bytes()).Error
		if got == nil || got.Code != clipping.CodeInvalidParameter || got.Message == "" {
			t.Fatalf("400 with %s", rec.Body)
		}
		switch {
		case want != nil:
			// The handler passes the decoder's error on as it is.
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the handler answered %s; the decoder said %+v", rec.Body, want)
			}
		case req.Video.Type == clipping.VideoAssetID && req.Video.AssetID != fuzzAsset:
			if got.Param == nil || *got.Param != "video.asset_id" {
				t.Fatalf("an unknown asset answered %s", rec.Body)
			}
		default:
			t.Fatalf("the decoder accepted %q, the handler answered %s", body, rec.Body)
		}
	case rec.Code == http.StatusAccepted:
		if want != nil {
			t.Fatalf("the decoder refused %q (%v), the handler answered 202", body, want)
		}
		env.mustValidate(t, "#/components/schemas/CreateAiClippingEnvelope", inst)
		id := decodeAs[clipping.Data[clipping.Created]](t, rec.Body.Bytes()).Data.AIClippingID
		if id == "" {
			t.Fatalf("202 without an id: %s", rec.Body)
		}
		env.checkJob(t, id, req)
	default:
		t.Fatalf("%q answered %d: %s", body, rec.Code, rec.Body)
	}
}

func (env *fuzzEnv) mustValidate(t *testing.T, ref string, inst any) {
	t.Helper()
	if errs := env.doc.validateRef(ref, inst); len(errs) > 0 {
		t.Fatalf("%s against %s: %v", describe(inst), ref, errs)
	}
}

// checkAccepted: a body the decoder accepts is valid against the
// documented request schema, and the request it gives survives
// json.Marshal and a second decoding unchanged.
func (env *fuzzEnv) checkAccepted(t *testing.T, body []byte, req clipping.CreateRequest) {
	t.Helper()
	inst, err := parseJSON(body)
	if err != nil {
		t.Fatalf("the decoder accepted %q, which encoding/json cannot read: %v", body, err)
	}
	if errs := env.doc.validateRef("#/components/schemas/CreateAiClippingRequest", inst); len(errs) > 0 {
		t.Fatalf("the decoder accepted %q, which openapi.json's request schema refuses: %v", body, errs)
	}
	if err := req.Validate(clipping.Options{}); err != nil {
		t.Fatalf("the decoder accepted %q, which Validate refuses: %v", body, err)
	}
	again, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	req2, err := clipping.DecodeCreateRequest(again, clipping.Options{})
	if err != nil {
		t.Fatalf("%q was accepted, its re-encoding %s is refused: %v", body, again, err)
	}
	if !reflect.DeepEqual(req, req2) {
		t.Fatalf("round trip of %q:\n%+v\nbecame\n%+v", body, req, req2)
	}
}

// checkJob fetches the new job over the API and from the store.
func (env *fuzzEnv) checkJob(t *testing.T, id string, req clipping.CreateRequest) {
	t.Helper()
	rec := env.serve("GET", "/v3/ai-clipping/"+id, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, rec.Code, rec.Body)
	}
	inst, err := parseJSON(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	env.mustValidate(t, "#/components/schemas/AiClippingJobEnvelope", inst)
	job := decodeAs[clipping.Data[clipping.Job]](t, rec.Body.Bytes()).Data
	if job.ID != id || job.Status != clipping.JobPending || !reflect.DeepEqual(job.Title, req.Title) ||
		!reflect.DeepEqual(job.InputLanguage, req.InputLanguage) || !reflect.DeepEqual(job.CallbackID, req.CallbackID) {
		t.Fatalf("job %s for request %+v", rec.Body, req)
	}
	stored, err := env.store.GetJob(context.Background(), ownerOf(key1), id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Request, req) {
		t.Fatalf("stored request %+v, decoded %+v", stored.Request, req)
	}
}

// createSeeds are bodies worth starting from: valid ones of every shape,
// invalid ones of every kind, and random JSON-ish fragments.
func createSeeds() []string {
	const u = `{"type": "url", "url": "https://example.com/talk.mp4"}`
	const a = `{"type": "asset_id", "asset_id": "` + fuzzAsset + `"}`
	with := func(fields string) string { return `{"video": ` + u + `, ` + fields + `}` }
	settings := func(fields string) string { return with(`"output_settings": {` + fields + `}`) }
	rep := strings.Repeat
	seeds := []string{
		// Valid.
		`{"video": ` + u + `}`,
		`{"video": ` + a + `}`,
		` {"video":` + u + `}` + "\n\t ",
		`{"video": ` + a + `, "title": "A talk", "input_language": "en", "output_settings": {"duration_types": ["30", "60", "180", "long"], "aspect_ratio": "landscape", "captions": false, "caption_style": "karaoke", "prompt": "Funny\nbits\tonly"}, "callback_url": "https://hooks.example.com/x?y=1", "callback_id": "order-1"}`,
		with(`"title": null, "input_language": null, "callback_url": null, "callback_id": null, "output_settings": {"caption_style": null, "prompt": null}`),
		with(`"input_language": "EN"`),
		with(`"input_language": "Pt"`),
		with(`"title": "` + rep("é", clipping.MaxTitle) + `"`),
		with(`"title": "🎬 ` + rep("x", clipping.MaxTitle-2) + `"`),
		with(`"title": "\ud800 lone surrogate"`),
		with(`"title": "", "callback_id": ""`),
		settings(`"prompt": "` + rep("p", clipping.MaxPrompt) + `"`),
		settings(`"duration_types": ["long"], "captions": true`),
		settings(``),
		`{"video": {"type": "url", "url": "HTTPS://EXAMPLE.COM:8443/a%20b.mp4?x=1#t=10"}}`,
		`{"video": {"type": "url", "url": "https://[2001:db8::1]/v.mp4"}}`,
		`{"video": {"type": "url", "url": "https://bücher.example/v.mp4"}}`,
		`{"\u0076ideo": ` + u + `}`,
		`{"video": {"url": "https://example.com/a", "type": "url"}}`,
		`{"video": {"type": "asset_id", "asset_id": "` + rep("a", clipping.MaxAssetID) + `"}}`,

		// Not an object, not JSON.
		``, ` `, `null`, `[]`, `"video"`, `0`, `true`, `{`, `}`, `{}`, `{"video"}`, `{"video":}`,
		`{"video": ` + u + `,}`, `{"video": ` + u + `} {}`, `{"video": ` + u + `}]`, `{'video': 1}`,
		`{"video": ` + u + `} // comment`, "\ufeff" + `{"video": ` + u + `}`, `{"video": NaN}`, `{"video": Infinity}`,
		`{"video": ` + u + `, "title": "unterminated}`,
		"{\"video\": " + u + ", \"title\": \"a\x00b\"}",
		"\x00",

		// Unknown fields, at every level, and case variants.
		with(`"extra": 1`),
		with(`"Video": 1`),
		`{"video": {"type": "url", "url": "https://example.com/a", "extra": 1}}`,
		`{"video": {"type": "url", "url": "https://example.com/a", "asset_id": "x"}}`,
		`{"video": {"type": "asset_id", "asset_id": "x", "url": "https://example.com/a"}}`,
		settings(`"style": "bold"`),
		settings(`"Captions": true`),
		`{"video": {"TYPE": "url", "url": "https://example.com/a"}}`,
		`{"video": {"type": "URL", "url": "https://example.com/a"}}`,

		// Wrong types.
		`{"video": "https://example.com/a"}`, `{"video": null}`, `{"video": []}`, `{"video": 1}`,
		`{"video": {"type": 1, "url": "https://example.com/a"}}`, `{"video": {"type": null}}`,
		`{"video": {"type": "url", "url": 1}}`, `{"video": {"type": "url", "url": null}}`,
		`{"video": {"type": "asset_id", "asset_id": 5}}`, `{"video": {"type": "url"}}`, `{"video": {}}`,
		with(`"title": 1`), with(`"title": true`), with(`"title": {}`), with(`"title": ["a"]`),
		with(`"input_language": 1`), with(`"output_settings": []`), with(`"output_settings": "portrait"`),
		with(`"output_settings": null`), with(`"callback_url": 1`), with(`"callback_id": {}`),
		settings(`"duration_types": "60"`), settings(`"duration_types": [60]`), settings(`"duration_types": [null]`),
		settings(`"duration_types": null`), settings(`"duration_types": {}`), settings(`"duration_types": []`),
		settings(`"duration_types": ["30", "60", "180", "long", "30"]`), settings(`"duration_types": ["45"]`),
		settings(`"aspect_ratio": 1`), settings(`"aspect_ratio": null`), settings(`"aspect_ratio": "wide"`),
		settings(`"captions": "true"`), settings(`"captions": 1`), settings(`"captions": null`),
		settings(`"caption_style": 1`), settings(`"caption_style": "Bold"`), settings(`"caption_style": "neon"`),
		settings(`"prompt": 1`),

		// Huge numbers.
		with(`"title": 1e400`), settings(`"captions": 1e999`), settings(`"duration_types": [1e309]`),
		with(`"extra": 123456789012345678901234567890`), with(`"title": -0`), `{"video": -1e-400}`,

		// Deep nesting.
		with(`"title": ` + rep("[", 10000) + rep("]", 10000)),
		with(`"title": ` + rep("[", 10001) + rep("]", 10001)),
		with(`"extra": ` + rep(`{"a":`, 2000) + `1` + rep("}", 2000)),
		rep("[", 30000),
		`{"video": ` + rep(`{"video": `, 500) + u + rep("}", 500) + `}`,

		// Invalid UTF-8, raw and in keys.
		"{\"video\": " + u + ", \"title\": \"\xff\xfe\"}",
		"{\"vid\xc0\xafeo\": " + u + "}",
		"{\"video\": " + u + ", \"title\": \"\xed\xa0\x80\"}",
		"{\"video\": " + u + ", \"title\": \"abc\xe2\x82\"}",

		// Duplicate keys at every level.
		`{"video": ` + u + `, "video": ` + a + `}`,
		`{"video": {"type": "url", "type": "asset_id", "url": "https://example.com/a"}}`,
		`{"video": {"type": "url", "url": "https://example.com/a", "url": "https://example.com/b"}}`,
		settings(`"captions": true, "captions": false`),
		with(`"title": "a", "title": null`),
		`{"video": ` + u + `, "vid\u0065o": ` + u + `}`,

		// Null bytes and other control characters.
		with(`"title": "a\u0000b"`), with(`"callback_id": "\u0000"`), with(`"title": "a\u007fb"`),
		with(`"title": "a\u0085b"`), with(`"title": "line\nbreak"`), with(`"title": "a\u2028b"`),
		settings(`"prompt": "a\u0000b"`), settings(`"prompt": "a\r\n\tb"`),
		`{"video": {"type": "url", "url": "https://example.com/a\u0000"}}`,
		`{"video": {"type": "asset_id", "asset_id": "a\u0000"}}`,
		`{"video\u0000": ` + u + `}`,

		// Lengths just over the limits, and a body over the cap.
		with(`"title": "` + rep("x", clipping.MaxTitle+1) + `"`),
		settings(`"prompt": "` + rep("p", clipping.MaxPrompt+1) + `"`),
		with(`"callback_id": "` + rep("c", clipping.MaxCallbackID+1) + `"`),
		`{"video": {"type": "url", "url": "https://example.com/` + rep("u", clipping.MaxURL) + `"}}`,
		`{"video": {"type": "asset_id", "asset_id": "` + rep("a", clipping.MaxAssetID+1) + `"}}`,
		with(`"title": "` + rep("x", fuzzMaxJSON) + `"`),

		// URLs and languages.
		`{"video": {"type": "url", "url": "http://example.com/a"}}`,
		`{"video": {"type": "url", "url": "https://"}}`,
		`{"video": {"type": "url", "url": "https:///path"}}`,
		`{"video": {"type": "url", "url": "https://user:pw@example.com/a"}}`,
		`{"video": {"type": "url", "url": "//example.com/a"}}`,
		`{"video": {"type": "url", "url": "javascript:alert(1)"}}`,
		`{"video": {"type": "url", "url": "https://exa mple.com/"}}`,
		`{"video": {"type": "url", "url": "https://example.com:99999/"}}`,
		`{"video": {"type": "url", "url": ""}}`,
		with(`"callback_url": "ftp://example.com/"`), with(`"callback_url": ""`),
		with(`"input_language": "xx"`), with(`"input_language": "eng"`), with(`"input_language": "\u212ak"`),
		with(`"input_language": ""`), with(`"input_language": "iw"`),
		`{"video": {"type": "asset_id", "asset_id": "../etc/passwd"}}`,
		`{"video": {"type": "asset_id", "asset_id": ""}}`,
		`{"video": {"type": "asset_id", "asset_id": "not-uploaded"}}`,
	}
	return append(seeds, randomSeeds()...)
}

// randomSeeds are JSON-ish fragments from a fixed random source: token
// soups, and objects whose fields are drawn from valid and invalid values.
func randomSeeds() []string {
	r := rand.New(rand.NewPCG(1, 2))
	tokens := []string{`{`, `}`, `[`, `]`, `:`, `,`, `"video"`, `"type"`, `"url"`, `"asset_id"`,
		`"https://example.com/a"`, `"` + fuzzAsset + `"`, `"output_settings"`, `"duration_types"`, `"60"`,
		`"long"`, `"aspect_ratio"`, `"square"`, `"captions"`, `"title"`, `null`, `true`, `false`, `0`,
		`-1.5e3`, `""`, `"\u0000"`, `"\ud83c\udfac"`, " ", "\n"}
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	var out []string
	for range 30 {
		var b strings.Builder
		for range 1 + r.IntN(24) {
			b.WriteString(tokens[r.IntN(len(tokens))])
		}
		out = append(out, b.String())
	}
	for range 40 {
		fields := []string{}
		add := func(name string, vals ...string) {
			if r.IntN(2) == 0 {
				fields = append(fields, fmt.Sprintf("%q: %s", name, pick(vals...)))
			}
		}
		add("video", `{"type": "url", "url": "https://example.com/x.mp4"}`, `{"type": "asset_id", "asset_id": "`+fuzzAsset+`"}`,
			`{"type": "asset_id", "asset_id": "nope"}`, `{"type": "url"}`, `"x"`)
		add("title", `null`, `"t"`, `""`, `1`)
		add("input_language", `null`, `"en"`, `"FR"`, `"zz"`)
		add("callback_url", `null`, `"https://h.example/cb"`, `"http://h.example/cb"`)
		add("callback_id", `null`, `"id-1"`, `"\t"`)
		var s []string
		add2 := func(name string, vals ...string) {
			if r.IntN(2) == 0 {
				s = append(s, fmt.Sprintf("%q: %s", name, pick(vals...)))
			}
		}
		add2("duration_types", `["30"]`, `["60", "180"]`, `[]`, `["long", "long"]`, `["x"]`)
		add2("aspect_ratio", `"portrait"`, `"landscape"`, `"square"`, `"tall"`)
		add2("captions", `true`, `false`, `0`)
		add2("caption_style", `null`, `"boxed"`, `"minimal"`, `"fancy"`)
		add2("prompt", `null`, `"short"`, `"multi\nline"`)
		if len(s) > 0 || r.IntN(3) == 0 {
			fields = append(fields, `"output_settings": {`+strings.Join(s, ", ")+`}`)
		}
		r.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		out = append(out, "{"+strings.Join(fields, ", ")+"}")
	}
	return out
}

// TestFuzzSeedsCoverBothOutcomes keeps the corpus honest: it must hold
// bodies that are accepted, refused and over the cap.
func TestFuzzSeedsCoverBothOutcomes(t *testing.T) {
	var ok, refused, tooBig, invalidUTF8 int
	for _, s := range createSeeds() {
		if !utf8.ValidString(s) {
			invalidUTF8++
		}
		if len(s) > fuzzMaxJSON {
			tooBig++
		}
		if _, err := clipping.DecodeCreateRequest([]byte(s), clipping.Options{}); err == nil {
			ok++
		} else {
			refused++
		}
	}
	if ok < 20 || refused < 100 || tooBig < 1 || invalidUTF8 < 3 {
		t.Errorf("seeds: %d accepted, %d refused, %d over the cap, %d not UTF-8", ok, refused, tooBig, invalidUTF8)
	}
	t.Logf("seeds: %d accepted, %d refused, %d over the cap, %d not UTF-8", ok, refused, tooBig, invalidUTF8)
}
