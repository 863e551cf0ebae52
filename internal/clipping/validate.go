package clipping

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the contract. Lengths are in characters (runes), not bytes.
const (
	MaxTitle          = 255
	MaxPrompt         = 500
	MaxCallbackID     = 255
	MaxURL            = 2048
	MaxAssetID        = 128
	MaxIdempotencyKey = 255
	MaxDurationTypes  = 4
)

// Validate checks the value rules of a typed request. DecodeCreateRequest
// ends with it, and code that builds a request (the CLI, the pipeline)
// calls it directly, so each rule is written once. input_language may be
// in any case; DecodeCreateRequest lower-cases it.
func (r CreateRequest) Validate(opts Options) error {
	if err := r.Video.Validate(opts); err != nil {
		return err
	}
	return r.validateSettings(opts)
}

// validateSettings checks everything but the video: what a settings file
// may set.
func (r CreateRequest) validateSettings(opts Options) error {
	if r.Title != nil {
		if err := checkText("title", *r.Title, MaxTitle, false); err != nil {
			return err
		}
	}
	if r.InputLanguage != nil {
		if _, err := NormalizeLanguage(*r.InputLanguage); err != nil {
			return err
		}
	}
	if err := r.OutputSettings.Validate(); err != nil {
		return err
	}
	if r.CallbackURL != nil {
		if err := checkURL("callback_url", *r.CallbackURL, opts); err != nil {
			return err
		}
	}
	if r.CallbackID != nil {
		if err := checkText("callback_id", *r.CallbackID, MaxCallbackID, false); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the source: a known type, and only the field that type
// uses, since JSON with both would be refused as an unknown field.
func (v Video) Validate(opts Options) error {
	if err := checkVideoType(v.Type); err != nil {
		return err
	}
	if v.Type == VideoURL {
		if v.AssetID != "" {
			return InvalidParam("video.asset_id", `video.asset_id must be empty when video.type is "url".`)
		}
		return checkURL("video.url", v.URL, opts)
	}
	if v.URL != "" {
		return InvalidParam("video.url", `video.url must be empty when video.type is "asset_id".`)
	}
	return checkAssetID(v.AssetID)
}

func checkVideoType(t string) error {
	if t != VideoURL && t != VideoAssetID {
		return InvalidParam("video.type", `video.type must be "url" or "asset_id", not %q.`, t)
	}
	return nil
}

// Validate checks output settings: 1 to 4 known duration types, a known
// aspect ratio and caption style, and the prompt's length.
func (s OutputSettings) Validate() error {
	if err := checkDurations(s.DurationTypes); err != nil {
		return err
	}
	if !slices.Contains(AspectRatios, s.AspectRatio) {
		return InvalidParam("output_settings.aspect_ratio", "output_settings.aspect_ratio must be one of %s, not %q.", aspectList(), s.AspectRatio)
	}
	// Exact names: the presets are identifiers, not free text.
	if _, ok := CaptionPreset(deref(s.CaptionStyle)); s.CaptionStyle != nil && !ok {
		return InvalidParam("output_settings.caption_style", "output_settings.caption_style must be one of %s (or one of HeyGen's preset names, such as \"outline_classic\") or null, not %q.", quoteList(CaptionStyles), *s.CaptionStyle)
	}
	if s.Prompt != nil {
		// A prompt may span lines.
		if err := checkText("output_settings.prompt", *s.Prompt, MaxPrompt, true); err != nil {
			return err
		}
	}
	return nil
}

func checkDurations(ds []DurationType) error {
	const param = "output_settings.duration_types"
	if n := len(ds); n < 1 || n > MaxDurationTypes {
		return InvalidParam(param, "%s must have 1 to %d entries, not %d.", param, MaxDurationTypes, n)
	}
	for i, d := range ds {
		if !slices.Contains(DurationTypes, d) {
			return InvalidParam(param, "%s[%d] must be one of %s, not %q.", param, i, durationList(), d)
		}
	}
	return nil
}

// ParseDurationTypes reads a comma-separated flag value such as
// "30,60,long" and checks it as output_settings.duration_types.
func ParseDurationTypes(csv string) ([]DurationType, error) {
	parts := strings.Split(csv, ",")
	ds := make([]DurationType, len(parts))
	for i, p := range parts {
		ds[i] = DurationType(strings.TrimSpace(p))
	}
	if err := checkDurations(ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// checkText limits a string's length in characters and refuses control
// characters, which have no place in a title or an id and break logs and
// headers; multiline text may hold line breaks and tabs.
func checkText(param, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return InvalidParam(param, "%s must be valid UTF-8 text.", param)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return InvalidParam(param, "%s must be at most %d characters, not %d.", param, max, n)
	}
	for i, r := range []rune(s) {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return InvalidParam(param, "%s must not contain control characters; character %d is U+%04X.", param, i+1, r)
		}
	}
	return nil
}

// checkURL accepts an absolute https URL with a host and no credentials
// (they would end up in logs and job records); http too if opts allow it.
func checkURL(param, raw string, opts Options) error {
	want := "an absolute https URL"
	if opts.AllowHTTP {
		want = "an absolute http or https URL"
	}
	if raw == "" {
		return InvalidParam(param, "%s must be %s, not empty.", param, want)
	}
	if n := utf8.RuneCountInString(raw); n > MaxURL {
		return InvalidParam(param, "%s must be at most %d characters, not %d.", param, MaxURL, n)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return InvalidParam(param, "%s must be %s, not %q.", param, want, raw)
	}
	// url.Parse lower-cases the scheme.
	if u.Scheme != "https" && !(u.Scheme == "http" && opts.AllowHTTP) {
		return InvalidParam(param, "%s must be %s; the scheme %q is not allowed.", param, want, u.Scheme)
	}
	if u.Hostname() == "" {
		return InvalidParam(param, "%s must be %s with a host, not %q.", param, want, raw)
	}
	if u.User != nil {
		return InvalidParam(param, "%s must not contain a user name or password.", param)
	}
	return nil
}

func checkAssetID(id string) error {
	const param = "video.asset_id"
	if n := utf8.RuneCountInString(id); n < 1 || n > MaxAssetID {
		return InvalidParam(param, "%s must be 1 to %d characters, not %d.", param, MaxAssetID, n)
	}
	for _, r := range id {
		if !isAlnum(r) && r != '_' && r != '-' {
			return InvalidParam(param, "%s may contain only letters, digits, '_' and '-', not %q.", param, r)
		}
	}
	return nil
}

// ValidateIdempotencyKey checks the Idempotency-Key header: 1 to 255
// characters of [A-Za-z0-9_:.-].
func ValidateIdempotencyKey(key string) error {
	const param = "Idempotency-Key"
	if n := utf8.RuneCountInString(key); n < 1 || n > MaxIdempotencyKey {
		return InvalidParam(param, "%s must be 1 to %d characters, not %d.", param, MaxIdempotencyKey, n)
	}
	for _, r := range key {
		if !isAlnum(r) && !strings.ContainsRune("_:.-", r) {
			return InvalidParam(param, "%s may contain only letters, digits, '_', ':', '.' and '-', not %q.", param, r)
		}
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
