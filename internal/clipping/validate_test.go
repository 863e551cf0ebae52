package clipping_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
)

// checkErr asserts err is an invalid_parameter naming param ("" for no
// error) whose message mentions each of want.
func checkErr(t *testing.T, err error, param string, want ...string) {
	t.Helper()
	if param == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	e, ok := clipping.AsError(err)
	if !ok {
		t.Fatalf("error %v, want a *clipping.Error with param %q", err, param)
	}
	if e.Code != clipping.CodeInvalidParameter || e.Param == nil || *e.Param != param {
		t.Fatalf("error %v, want invalid_parameter with param %q", err, param)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not mention %q", e.Message, w)
		}
	}
}

// The CLI builds OutputSettings from flags and calls Validate.
func TestOutputSettingsValidate(t *testing.T) {
	ok := clipping.DefaultOutputSettings
	cases := []struct {
		name  string
		edit  func(*clipping.OutputSettings)
		param string
		want  string
	}{
		{"defaults", func(s *clipping.OutputSettings) {}, "", ""},
		{"every style", func(s *clipping.OutputSettings) { s.CaptionStyle = clipping.Ptr("boxed") }, "", ""},
		{"no durations", func(s *clipping.OutputSettings) { s.DurationTypes = nil }, "output_settings.duration_types", "not 0"},
		{"unknown duration", func(s *clipping.OutputSettings) { s.DurationTypes = []clipping.DurationType{"60", "45"} }, "output_settings.duration_types", `[1]`},
		{"empty aspect", func(s *clipping.OutputSettings) { s.AspectRatio = "" }, "output_settings.aspect_ratio", `not ""`},
		{"unknown aspect", func(s *clipping.OutputSettings) { s.AspectRatio = "vertical" }, "output_settings.aspect_ratio", `"vertical"`},
		{"unknown style", func(s *clipping.OutputSettings) { s.CaptionStyle = clipping.Ptr("neon") }, "output_settings.caption_style", `"neon"`},
		{"long prompt", func(s *clipping.OutputSettings) { s.Prompt = clipping.Ptr(strings.Repeat("x", 501)) }, "output_settings.prompt", "501"},
		{"prompt with lines", func(s *clipping.OutputSettings) { s.Prompt = clipping.Ptr("a\r\n\tb") }, "", ""},
		{"prompt bad UTF-8", func(s *clipping.OutputSettings) { s.Prompt = clipping.Ptr("a\xff") }, "output_settings.prompt", "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ok()
			c.edit(&s)
			checkErr(t, s.Validate(), c.param, c.want)
		})
	}
}

func TestCreateRequestValidate(t *testing.T) {
	base := func() clipping.CreateRequest {
		return clipping.CreateRequest{Video: clipping.Video{Type: clipping.VideoURL, URL: "https://x.test/a.mp4"}, OutputSettings: clipping.DefaultOutputSettings()}
	}
	cases := []struct {
		name  string
		edit  func(*clipping.CreateRequest)
		opts  clipping.Options
		param string
	}{
		{"valid", func(r *clipping.CreateRequest) {}, clipping.Options{}, ""},
		{"no video", func(r *clipping.CreateRequest) { r.Video = clipping.Video{} }, clipping.Options{}, "video.type"},
		{"both url and asset", func(r *clipping.CreateRequest) { r.Video.AssetID = "a1" }, clipping.Options{}, "video.asset_id"},
		{"asset with url", func(r *clipping.CreateRequest) {
			r.Video = clipping.Video{Type: clipping.VideoAssetID, AssetID: "a1", URL: "https://x.test"}
		}, clipping.Options{}, "video.url"},
		{"http refused", func(r *clipping.CreateRequest) { r.Video.URL = "http://x.test/a.mp4" }, clipping.Options{}, "video.url"},
		{"http allowed", func(r *clipping.CreateRequest) { r.Video.URL = "http://x.test/a.mp4" }, clipping.Options{AllowHTTP: true}, ""},
		{"upper-case language", func(r *clipping.CreateRequest) { r.InputLanguage = clipping.Ptr("EN") }, clipping.Options{}, ""},
		{"bad language", func(r *clipping.CreateRequest) { r.InputLanguage = clipping.Ptr("english") }, clipping.Options{}, "input_language"},
		{"bad settings", func(r *clipping.CreateRequest) { r.OutputSettings.AspectRatio = "x" }, clipping.Options{}, "output_settings.aspect_ratio"},
		{"zero settings", func(r *clipping.CreateRequest) { r.OutputSettings = clipping.OutputSettings{} }, clipping.Options{}, "output_settings.duration_types"},
		{"bad title", func(r *clipping.CreateRequest) { r.Title = clipping.Ptr("a\tb") }, clipping.Options{}, "title"},
		{"bad callback", func(r *clipping.CreateRequest) { r.CallbackURL = clipping.Ptr("https://u@h.test/") }, clipping.Options{}, "callback_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base()
			c.edit(&r)
			checkErr(t, r.Validate(c.opts), c.param)
		})
	}

	// Validate checks; it does not rewrite the caller's values.
	r := base()
	r.InputLanguage = clipping.Ptr("EN")
	if err := r.Validate(clipping.Options{}); err != nil || *r.InputLanguage != "EN" {
		t.Fatalf("Validate: %v, language now %q", err, *r.InputLanguage)
	}
}

func TestParseDurationTypes(t *testing.T) {
	cases := []struct {
		in    string
		want  []clipping.DurationType
		param string
		msg   string
	}{
		{"60", []clipping.DurationType{"60"}, "", ""},
		{"30,60,long", []clipping.DurationType{"30", "60", "long"}, "", ""},
		{" 30 , 180 ,long ", []clipping.DurationType{"30", "180", "long"}, "", ""},
		{"30,30,30,30", []clipping.DurationType{"30", "30", "30", "30"}, "", ""},
		{"", nil, "output_settings.duration_types", `[0]`},
		{"30,,60", nil, "output_settings.duration_types", `[1]`},
		{"30,90", nil, "output_settings.duration_types", `"90"`},
		{"30,60,180,long,30", nil, "output_settings.duration_types", "not 5"},
	}
	for _, c := range cases {
		got, err := clipping.ParseDurationTypes(c.in)
		checkErr(t, err, c.param, c.msg)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseDurationTypes(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeLanguage(t *testing.T) {
	for in, want := range map[string]string{"en": "en", "EN": "en", "Zh": "zh", "yo": "yo", "nb": "nb"} {
		got, err := clipping.NormalizeLanguage(in)
		if err != nil || got != want {
			t.Errorf("NormalizeLanguage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "e", "eng", "en-US", "xx", "sh", " en", "\u212Ai"} {
		_, err := clipping.NormalizeLanguage(in)
		checkErr(t, err, "input_language", "ISO 639-1")
	}

	// Exactly the 183 current codes, in either case.
	n := 0
	for a := 'a'; a <= 'z'; a++ {
		for b := 'a'; b <= 'z'; b++ {
			code := string([]rune{a, b})
			if _, err := clipping.NormalizeLanguage(code); err == nil {
				n++
				if got, err := clipping.NormalizeLanguage(strings.ToUpper(code)); err != nil || got != code {
					t.Errorf("NormalizeLanguage(%q) = %q, %v", strings.ToUpper(code), got, err)
				}
			}
		}
	}
	if n != 183 {
		t.Errorf("%d codes accepted, want 183", n)
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	cases := []struct {
		key string
		ok  bool
	}{
		{"550e8400-e29b-41d4-a716-446655440000", true},
		{"s3:inbox/talk.mp4", false},
		{"s3:inbox.talk_mp4:v-1", true},
		{"a", true},
		{strings.Repeat("k", 255), true},
		{strings.Repeat("k", 256), false},
		{"", false},
		{"two words", false},
		{"clé", false},
		{"a\n", false},
	}
	for _, c := range cases {
		err := clipping.ValidateIdempotencyKey(c.key)
		if c.ok {
			checkErr(t, err, "")
		} else {
			checkErr(t, err, "Idempotency-Key", "Idempotency-Key")
		}
	}
}

// HeyGen's caption preset names work here too, each mapped to a preset of
// clipmill's; other names are still refused.
func TestHeyGenCaptionStyles(t *testing.T) {
	for name, preset := range clipping.HeyGenCaptionStyles {
		if got, ok := clipping.CaptionPreset(name); !ok || got != preset || !slices.Contains(clipping.CaptionStyles, preset) {
			t.Errorf("%s maps to %q (%v)", name, got, ok)
		}
		s := clipping.DefaultOutputSettings()
		s.CaptionStyle = &name
		if err := s.Validate(); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
	s := clipping.DefaultOutputSettings()
	s.CaptionStyle = clipping.Ptr("comic_sans")
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), `"classic", "bold"`) {
		t.Errorf("unknown style: %v", err)
	}
}
