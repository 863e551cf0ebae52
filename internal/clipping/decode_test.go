package clipping_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
)

const minimal = `{"video":{"type":"url","url":"https://x.test/a.mp4"}}`

// with returns the minimal body plus the given top-level members.
func with(members string) string {
	return `{"video":{"type":"url","url":"https://x.test/a.mp4"},` + members + `}`
}

// settings returns the minimal body with output_settings set to obj.
func settings(obj string) string { return with(`"output_settings":` + obj) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDecodeErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	urlOf := func(n int) string { return "https://x.test/" + strings.Repeat("a", n-len("https://x.test/")) }
	httpOK := clipping.Options{AllowHTTP: true}

	cases := []struct {
		name  string
		body  string
		opts  clipping.Options
		param string   // "" means param must be null
		want  []string // substrings of the message
	}{
		// The body as a whole.
		{"empty body", ``, clipping.Options{}, "", []string{"empty"}},
		{"blank body", " \n\t", clipping.Options{}, "", []string{"empty"}},
		{"not JSON", `hello`, clipping.Options{}, "", []string{"not valid JSON"}},
		{"bad JSON inside", `{"video":{"type":"url",}}`, clipping.Options{}, "", []string{"not valid JSON"}},
		{"truncated", `{"video":`, clipping.Options{}, "", []string{"not valid JSON"}},
		{"array", `[` + minimal + `]`, clipping.Options{}, "", []string{"JSON object"}},
		{"null body", `null`, clipping.Options{}, "", []string{"JSON object"}},
		{"string body", `"video"`, clipping.Options{}, "", []string{"JSON object"}},
		{"trailing garbage", minimal + ` x`, clipping.Options{}, "", []string{"after the JSON object"}},
		{"two objects", minimal + minimal, clipping.Options{}, "", []string{"after the JSON object"}},
		{"invalid UTF-8", with(`"title":"a` + "\xff" + `"`), clipping.Options{}, "", []string{"UTF-8"}},
		{"duplicate field", with(`"title":"a","title":"b"`), clipping.Options{}, "title", []string{`"title"`, "more than once"}},
		{"duplicate nested field", `{"video":{"type":"url","url":"https://x.test/a","url":"https://x.test/b"}}`, clipping.Options{}, "video.url", []string{"more than once"}},

		// additionalProperties: false at every level.
		{"unknown top field", with(`"foo":1`), clipping.Options{}, "foo", []string{`"foo"`, `"video"`}},
		{"unknown video field", `{"video":{"type":"url","url":"https://x.test/a","foo":1}}`, clipping.Options{}, "video.foo", []string{`"video.foo"`}},
		{"asset_id on a url video", `{"video":{"type":"url","url":"https://x.test/a","asset_id":"a1"}}`, clipping.Options{}, "video.asset_id", []string{`"video.asset_id"`, `"url"`}},
		{"url on an asset_id video", `{"video":{"type":"asset_id","asset_id":"a1","url":"https://x.test/a"}}`, clipping.Options{}, "video.url", []string{`"video.url"`, `"asset_id"`}},
		{"unknown settings field", settings(`{"foo":1}`), clipping.Options{}, "output_settings.foo", []string{`"output_settings.foo"`, `"duration_types"`}},
		{"internal settings field", settings(`{"caption_config":{}}`), clipping.Options{}, "output_settings.caption_config", []string{`"output_settings.caption_config"`}},

		// video.
		{"video missing", `{"title":"t"}`, clipping.Options{}, "video", []string{"video is required"}},
		{"video null", `{"video":null}`, clipping.Options{}, "video", []string{"object", "null"}},
		{"video string", `{"video":"https://x.test/a.mp4"}`, clipping.Options{}, "video", []string{"object", "a string"}},
		{"video array", `{"video":[]}`, clipping.Options{}, "video", []string{"object", "an array"}},
		{"type missing", `{"video":{"url":"https://x.test/a.mp4"}}`, clipping.Options{}, "video.type", []string{"required", `"url"`, `"asset_id"`}},
		{"type number", `{"video":{"type":1,"url":"https://x.test/a.mp4"}}`, clipping.Options{}, "video.type", []string{"string", "a number"}},
		{"type null", `{"video":{"type":null,"url":"https://x.test/a.mp4"}}`, clipping.Options{}, "video.type", []string{"string", "null"}},
		{"type unknown", `{"video":{"type":"file","url":"https://x.test/a.mp4"}}`, clipping.Options{}, "video.type", []string{`"file"`, `"url"`, `"asset_id"`}},
		{"type wrong case", `{"video":{"type":"URL","url":"https://x.test/a.mp4"}}`, clipping.Options{}, "video.type", []string{`"URL"`}},
		{"url missing", `{"video":{"type":"url"}}`, clipping.Options{}, "video.url", []string{"required"}},
		{"url number", `{"video":{"type":"url","url":5}}`, clipping.Options{}, "video.url", []string{"string", "a number"}},
		{"url null", `{"video":{"type":"url","url":null}}`, clipping.Options{}, "video.url", []string{"string", "null"}},
		{"url empty", `{"video":{"type":"url","url":""}}`, clipping.Options{}, "video.url", []string{"empty"}},
		{"url relative", `{"video":{"type":"url","url":"/a.mp4"}}`, clipping.Options{}, "video.url", []string{"absolute", `"/a.mp4"`}},
		{"url without scheme", `{"video":{"type":"url","url":"x.test/a.mp4"}}`, clipping.Options{}, "video.url", []string{"absolute", `"x.test/a.mp4"`}},
		{"url http", `{"video":{"type":"url","url":"http://x.test/a.mp4"}}`, clipping.Options{}, "video.url", []string{"https", `"http"`}},
		{"url ftp with http allowed", `{"video":{"type":"url","url":"ftp://x.test/a.mp4"}}`, httpOK, "video.url", []string{"http or https", `"ftp"`}},
		{"url file", `{"video":{"type":"url","url":"file:///etc/passwd"}}`, clipping.Options{}, "video.url", []string{`"file"`}},
		{"url without host", `{"video":{"type":"url","url":"https:///a.mp4"}}`, clipping.Options{}, "video.url", []string{"host", `"https:///a.mp4"`}},
		{"url opaque", `{"video":{"type":"url","url":"https:x.test"}}`, clipping.Options{}, "video.url", []string{"host"}},
		{"url port only", `{"video":{"type":"url","url":"https://:443/a.mp4"}}`, clipping.Options{}, "video.url", []string{"host"}},
		{"url user info", `{"video":{"type":"url","url":"https://u:p@x.test/a.mp4"}}`, clipping.Options{}, "video.url", []string{"user name or password"}},
		{"url control character", `{"video":{"type":"url","url":"https://x.test/a\u0000.mp4"}}`, clipping.Options{}, "video.url", []string{"absolute"}},
		{"url too long", `{"video":{"type":"url","url":"` + urlOf(2049) + `"}}`, clipping.Options{}, "video.url", []string{"2048", "2049"}},
		{"asset_id missing", `{"video":{"type":"asset_id"}}`, clipping.Options{}, "video.asset_id", []string{"required"}},
		{"asset_id number", `{"video":{"type":"asset_id","asset_id":12}}`, clipping.Options{}, "video.asset_id", []string{"string", "a number"}},
		{"asset_id empty", `{"video":{"type":"asset_id","asset_id":""}}`, clipping.Options{}, "video.asset_id", []string{"1 to 128", "not 0"}},
		{"asset_id too long", `{"video":{"type":"asset_id","asset_id":"` + strings.Repeat("a", 129) + `"}}`, clipping.Options{}, "video.asset_id", []string{"1 to 128", "129"}},
		{"asset_id bad character", `{"video":{"type":"asset_id","asset_id":"../etc"}}`, clipping.Options{}, "video.asset_id", []string{`'.'`}},

		// title.
		{"title number", with(`"title":5`), clipping.Options{}, "title", []string{"title must be a string or null", "a number"}},
		{"title object", with(`"title":{}`), clipping.Options{}, "title", []string{"string or null", "an object"}},
		{"title too long", with(`"title":"` + long(256) + `"`), clipping.Options{}, "title", []string{"255", "256"}},
		{"title newline", with(`"title":"a\nb"`), clipping.Options{}, "title", []string{"control", "U+000A"}},
		{"title NUL", with(`"title":"a\u0000"`), clipping.Options{}, "title", []string{"control", "U+0000"}},
		{"title C1 control", with(`"title":"a\u0085"`), clipping.Options{}, "title", []string{"control", "U+0085"}},

		// input_language.
		{"language number", with(`"input_language":1`), clipping.Options{}, "input_language", []string{"string or null"}},
		{"language unknown", with(`"input_language":"xx"`), clipping.Options{}, "input_language", []string{"ISO 639-1", `"xx"`}},
		{"language three letters", with(`"input_language":"eng"`), clipping.Options{}, "input_language", []string{`"eng"`}},
		{"language tag", with(`"input_language":"en-US"`), clipping.Options{}, "input_language", []string{`"en-US"`}},
		{"language empty", with(`"input_language":""`), clipping.Options{}, "input_language", []string{`""`}},
		{"language withdrawn", with(`"input_language":"iw"`), clipping.Options{}, "input_language", []string{`"iw"`}},
		{"language Kelvin sign", with(`"input_language":"\u212Ai"`), clipping.Options{}, "input_language", []string{"ISO 639-1"}},

		// output_settings.
		{"settings null", settings(`null`), clipping.Options{}, "output_settings", []string{"object", "null"}},
		{"settings array", settings(`[]`), clipping.Options{}, "output_settings", []string{"object", "an array"}},
		{"durations null", settings(`{"duration_types":null}`), clipping.Options{}, "output_settings.duration_types", []string{"array", "null"}},
		{"durations string", settings(`{"duration_types":"60"}`), clipping.Options{}, "output_settings.duration_types", []string{"array", "a string"}},
		{"durations empty", settings(`{"duration_types":[]}`), clipping.Options{}, "output_settings.duration_types", []string{"1 to 4", "not 0"}},
		{"durations five", settings(`{"duration_types":["30","60","180","long","30"]}`), clipping.Options{}, "output_settings.duration_types", []string{"1 to 4", "not 5"}},
		{"duration number", settings(`{"duration_types":["30","60",60]}`), clipping.Options{}, "output_settings.duration_types", []string{"output_settings.duration_types[2]", `"30", "60", "180", "long"`, "a number"}},
		{"duration null item", settings(`{"duration_types":[null]}`), clipping.Options{}, "output_settings.duration_types", []string{"[0]", "null"}},
		{"duration unknown", settings(`{"duration_types":["30","90"]}`), clipping.Options{}, "output_settings.duration_types", []string{"[1]", `"90"`, `"long"`}},
		{"duration wrong case", settings(`{"duration_types":["LONG"]}`), clipping.Options{}, "output_settings.duration_types", []string{"[0]", `"LONG"`}},
		{"aspect unknown", settings(`{"aspect_ratio":"wide"}`), clipping.Options{}, "output_settings.aspect_ratio", []string{`"wide"`, `"landscape", "portrait", "square"`}},
		{"aspect null", settings(`{"aspect_ratio":null}`), clipping.Options{}, "output_settings.aspect_ratio", []string{"string", "null"}},
		{"aspect number", settings(`{"aspect_ratio":1}`), clipping.Options{}, "output_settings.aspect_ratio", []string{"string", "a number"}},
		{"captions string", settings(`{"captions":"true"}`), clipping.Options{}, "output_settings.captions", []string{"true or false", "a string"}},
		{"captions null", settings(`{"captions":null}`), clipping.Options{}, "output_settings.captions", []string{"true or false", "null"}},
		{"captions number", settings(`{"captions":1}`), clipping.Options{}, "output_settings.captions", []string{"true or false", "a number"}},
		{"caption style unknown", settings(`{"caption_style":"neon"}`), clipping.Options{}, "output_settings.caption_style", []string{`"neon"`, `"classic", "bold", "karaoke", "minimal", "boxed"`}},
		{"caption style wrong case", settings(`{"caption_style":"Bold"}`), clipping.Options{}, "output_settings.caption_style", []string{`"Bold"`}},
		{"caption style empty", settings(`{"caption_style":""}`), clipping.Options{}, "output_settings.caption_style", []string{`""`}},
		{"caption style number", settings(`{"caption_style":1}`), clipping.Options{}, "output_settings.caption_style", []string{"string or null", "a number"}},
		{"prompt number", settings(`{"prompt":1}`), clipping.Options{}, "output_settings.prompt", []string{"string or null", "a number"}},
		{"prompt too long", settings(`{"prompt":"` + long(501) + `"}`), clipping.Options{}, "output_settings.prompt", []string{"500", "501"}},
		{"prompt NUL", settings(`{"prompt":"a\u0000"}`), clipping.Options{}, "output_settings.prompt", []string{"control"}},

		// callback_url and callback_id.
		{"callback url number", with(`"callback_url":1`), clipping.Options{}, "callback_url", []string{"string or null"}},
		{"callback url empty", with(`"callback_url":""`), clipping.Options{}, "callback_url", []string{"empty"}},
		{"callback url http", with(`"callback_url":"http://hook.test/h"`), clipping.Options{}, "callback_url", []string{"https", `"http"`}},
		{"callback url relative", with(`"callback_url":"/hook"`), clipping.Options{}, "callback_url", []string{"absolute", `"/hook"`}},
		{"callback url too long", with(`"callback_url":"` + urlOf(2049) + `"`), clipping.Options{}, "callback_url", []string{"2048", "2049"}},
		{"callback id number", with(`"callback_id":1`), clipping.Options{}, "callback_id", []string{"string or null"}},
		{"callback id too long", with(`"callback_id":"` + long(256) + `"`), clipping.Options{}, "callback_id", []string{"255", "256"}},
		{"callback id control", with(`"callback_id":"a\rb"`), clipping.Options{}, "callback_id", []string{"control"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := clipping.DecodeCreateRequest([]byte(c.body), c.opts)
			if err == nil {
				t.Fatalf("no error; decoded %+v", req)
			}
			e, ok := clipping.AsError(err)
			if !ok {
				t.Fatalf("error %T %v is not a *clipping.Error", err, err)
			}
			if e.Code != clipping.CodeInvalidParameter {
				t.Errorf("code %q, want invalid_parameter", e.Code)
			}
			switch {
			case c.param == "" && e.Param != nil:
				t.Errorf("param %q, want null", *e.Param)
			case c.param != "" && (e.Param == nil || *e.Param != c.param):
				t.Errorf("param %v, want %q", str(e.Param), c.param)
			}
			if e.Message == "" || strings.ContainsRune(e.Message, '\n') {
				t.Errorf("message %q: want one line", e.Message)
			}
			for _, w := range c.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not mention %q", e.Message, w)
				}
			}
			if !reflect.DeepEqual(req, clipping.CreateRequest{}) {
				t.Errorf("a failed decode returned %+v", req)
			}
		})
	}
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestDecodeValid(t *testing.T) {
	defaults := clipping.DefaultOutputSettings()
	cases := []struct {
		name string
		body string
		opts clipping.Options
		want clipping.CreateRequest
	}{
		{"minimal", minimal, clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "https://x.test/a.mp4"}, OutputSettings: defaults}},
		{"asset id", `{"video":{"type":"asset_id","asset_id":"Ab_9-z"}}`, clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "asset_id", AssetID: "Ab_9-z"}, OutputSettings: defaults}},
		{"every field", `{
			"video": {"url": "https://cdn.x.test/talk.mp4?sig=1", "type": "url"},
			"title": "Q3 all-hands",
			"input_language": "ES",
			"output_settings": {
				"duration_types": ["30", "30", "180", "long"],
				"aspect_ratio": "square",
				"captions": false,
				"caption_style": "karaoke",
				"prompt": "pricing advice,\nthen the demo"
			},
			"callback_url": "https://hooks.x.test/clipmill",
			"callback_id": "job-42"
		}`, clipping.Options{}, clipping.CreateRequest{
			Video:         clipping.Video{Type: "url", URL: "https://cdn.x.test/talk.mp4?sig=1"},
			Title:         clipping.Ptr("Q3 all-hands"),
			InputLanguage: clipping.Ptr("es"),
			OutputSettings: clipping.OutputSettings{
				DurationTypes: []clipping.DurationType{"30", "30", "180", "long"},
				AspectRatio:   clipping.AspectSquare,
				Captions:      false,
				CaptionStyle:  clipping.Ptr("karaoke"),
				Prompt:        clipping.Ptr("pricing advice,\nthen the demo"),
			},
			CallbackURL: clipping.Ptr("https://hooks.x.test/clipmill"),
			CallbackID:  clipping.Ptr("job-42"),
		}},
		{"nulls everywhere", with(`"title":null,"input_language":null,"callback_url":null,"callback_id":null,
			"output_settings":{"caption_style":null,"prompt":null}`), clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "https://x.test/a.mp4"}, OutputSettings: defaults}},
		{"empty settings take defaults", settings(`{}`), clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "https://x.test/a.mp4"}, OutputSettings: defaults}},
		{"one setting keeps the other defaults", settings(`{"aspect_ratio":"landscape"}`), clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "https://x.test/a.mp4"},
				OutputSettings: clipping.OutputSettings{DurationTypes: []clipping.DurationType{"60"}, AspectRatio: "landscape", Captions: true}}},
		{"http allowed", `{"video":{"type":"url","url":"http://localhost:8080/a.mp4"},"callback_url":"http://127.0.0.1:9/h"}`, clipping.Options{AllowHTTP: true},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "http://localhost:8080/a.mp4"}, OutputSettings: defaults,
				CallbackURL: clipping.Ptr("http://127.0.0.1:9/h")}},
		{"https scheme in capitals", `{"video":{"type":"url","url":"HTTPS://x.test/a.mp4"}}`, clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "HTTPS://x.test/a.mp4"}, OutputSettings: defaults}},
		{"empty title and callback id", with(`"title":"","callback_id":""`), clipping.Options{},
			clipping.CreateRequest{Video: clipping.Video{Type: "url", URL: "https://x.test/a.mp4"}, OutputSettings: defaults,
				Title: clipping.Ptr(""), CallbackID: clipping.Ptr("")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := clipping.DecodeCreateRequest([]byte(c.body), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %s\nwant %s", dump(got), dump(c.want))
			}
			// What the pipeline marshals, the server decodes to the same value.
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := clipping.DecodeCreateRequest(b, c.opts)
			if err != nil {
				t.Fatalf("re-decoding %s: %v", b, err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip changed the request:\n%s\n%s", dump(got), dump(again))
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Lengths are characters, not bytes: 'é' is two bytes in UTF-8.
func TestDecodeLengthsInCharacters(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		param string // "" when valid
	}{
		{"title 255", with(`"title":` + quote(strings.Repeat("é", 255))), ""},
		{"title 256", with(`"title":` + quote(strings.Repeat("é", 256))), "title"},
		{"title 255 emoji", with(`"title":` + quote(strings.Repeat("🎬", 255))), ""},
		{"prompt 500", settings(`{"prompt":` + quote(strings.Repeat("é", 500)) + `}`), ""},
		{"prompt 501", settings(`{"prompt":` + quote(strings.Repeat("é", 501)) + `}`), "output_settings.prompt"},
		{"callback id 255", with(`"callback_id":` + quote(strings.Repeat("é", 255))), ""},
		{"callback id 256", with(`"callback_id":` + quote(strings.Repeat("é", 256))), "callback_id"},
		{"asset id 128", `{"video":{"type":"asset_id","asset_id":"` + strings.Repeat("a", 128) + `"}}`, ""},
		{"url 2048", `{"video":{"type":"url","url":"https://x.test/` + strings.Repeat("a", 2048-15) + `"}}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := clipping.DecodeCreateRequest([]byte(c.body), clipping.Options{})
			if c.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := clipping.AsError(err)
			if !ok || e.Param == nil || *e.Param != c.param {
				t.Fatalf("error %v, want one with param %q", err, c.param)
			}
		})
	}
}

// A settings file is a create request without its video, under the same
// rules.
func TestDecodeSettings(t *testing.T) {
	req, err := clipping.DecodeSettings([]byte(`{"title":"Talk","input_language":"EN","output_settings":{"duration_types":["30","long"],"aspect_ratio":"square"},"callback_id":"x"}`), clipping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *req.Title != "Talk" || *req.InputLanguage != "en" || len(req.OutputSettings.DurationTypes) != 2 ||
		req.OutputSettings.AspectRatio != clipping.AspectSquare || !req.OutputSettings.Captions || req.Video != (clipping.Video{}) {
		t.Fatalf("decoded %+v", req)
	}
	if _, err := clipping.DecodeSettings([]byte("\xef\xbb\xbf{\"title\":\"Notepad\"}"), clipping.Options{}); err != nil {
		t.Errorf("a settings file with a byte order mark: %v", err)
	}
	for body, param := range map[string]string{
		`{"video":{"type":"url","url":"https://x/a.mp4"}}`:   "video",
		`{"output_settings":{"duration_types":["90"]}}`:      "output_settings.duration_types",
		`{"callback_url":"ftp://x"}`:                         "callback_url",
		`{"output_settings":{"caption_style":"comic sans"}}`: "output_settings.caption_style",
	} {
		_, err := clipping.DecodeSettings([]byte(body), clipping.Options{})
		e, ok := clipping.AsError(err)
		if !ok || e.Param == nil || *e.Param != param {
			t.Errorf("%s: %v, want param %s", body, err, param)
		}
	}
}
