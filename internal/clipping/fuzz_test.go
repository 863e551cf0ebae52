package clipping_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
)

// FuzzDecodeSettings feeds the drop folder's settings sidecar decoder
// whatever a user might save. Whatever the bytes: no panic; a refusal is
// an invalid_parameter error with a message; an accepted file is a JSON
// object whose settings pass Validate, read the same again after
// json.Marshal, read the same with AllowHTTP, and read the same as the
// create request they make with a video.
func FuzzDecodeSettings(f *testing.F) {
	for _, s := range []string{
		`{"title":"Talk","input_language":"EN","output_settings":{"duration_types":["30","long"],"aspect_ratio":"square"},"callback_id":"x"}`,
		`{"output_settings":{"duration_types":["30","60","180"],"aspect_ratio":"portrait","captions":true,"caption_style":"karaoke","prompt":"the funny bits"}}`,
		`{"callback_url":"https://hooks.example.com/clipmill","callback_id":null,"title":null}`,
		`{"callback_url":"http://localhost:8080/hook"}`,
		"\xef\xbb\xbf{\"title\":\"Notepad\"}",
		`{"output_settings":{"caption_style":"neon_pink","captions":false}}`,
		`{}`,
		`{"title":"a","title":"b"}`,
		`{"video":{"type":"url","url":"https://x.test/a.mp4"}}`,
		`{"output_settings":{"duration_types":[]}}`,
		`{"output_settings":{"duration_types":["30","30"]}}`,
		`{"output_settings":{"aspect_ratio":"circle","extra":1}}`,
		`{"output_settings":null}`,
		`{"input_language":"pt_BR"}`,
		`{"title":"` + "\u202e" + `"}`,
		`{"title":"x"} {"title":"y"}`,
		`{"title":"x"`,
		"{\"title\":\"\xff\"}",
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := clipping.DecodeSettings(body, clipping.Options{})
		if err != nil {
			e, ok := clipping.AsError(err)
			if !ok || e.Code != clipping.CodeInvalidParameter || e.Message == "" {
				t.Fatalf("%q: refused with %#v, not an invalid_parameter error", body, err)
			}
			return
		}
		if !json.Valid(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))) {
			t.Fatalf("%q is not JSON, yet it was accepted as %+v", body, req)
		}
		if req.Video != (clipping.Video{}) {
			t.Fatalf("%q: settings gave a video %+v", body, req.Video)
		}
		withVideo := req
		withVideo.Video = clipping.Video{Type: clipping.VideoURL, URL: "https://x.test/a.mp4"}
		if err := withVideo.Validate(clipping.Options{}); err != nil {
			t.Fatalf("%q was accepted as %+v, which Validate refuses: %v", body, req, err)
		}
		if lax, err := clipping.DecodeSettings(body, clipping.Options{AllowHTTP: true}); err != nil || !reflect.DeepEqual(lax, req) {
			t.Fatalf("%q: with AllowHTTP %+v, %v; without %+v", body, lax, err, req)
		}

		// The settings again, as JSON without the video.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(b, &members); err != nil {
			t.Fatal(err)
		}
		delete(members, "video")
		again, _ := json.Marshal(members)
		req2, err := clipping.DecodeSettings(again, clipping.Options{})
		if err != nil || !reflect.DeepEqual(req2, req) {
			t.Fatalf("%q gave %+v; its re-encoding %s gave %+v, %v", body, req, again, req2, err)
		}
		members["video"] = json.RawMessage(`{"type":"url","url":"https://x.test/a.mp4"}`)
		full, _ := json.Marshal(members)
		created, err := clipping.DecodeCreateRequest(full, clipping.Options{})
		if err != nil || !reflect.DeepEqual(created, withVideo) {
			t.Fatalf("%q gave %+v; as a create request %s it gave %+v, %v", body, req, full, created, err)
		}
	})
}
