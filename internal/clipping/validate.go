package clipping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Options relax the rules where a deployment allows it.
type Options struct {
	// AllowHTTP accepts plain http URLs for sources and callbacks: an
	// explicit choice for local use.
	AllowHTTP bool
}

// Limits of the contract.
const (
	MaxTitle          = 255
	MaxPrompt         = 500
	MaxCallbackID     = 255
	MaxURL            = 2048
	MaxAssetID        = 128
	MaxIdempotencyKey = 255
	MaxDurationTypes  = 4
)

// DecodeCreateRequest reads a create body the way the contract does:
// additionalProperties false at every level, the video discriminator, the
// enums and lengths, defaults for what is left out. Every failure is an
// *Error with code invalid_parameter and the exact parameter path.
func DecodeCreateRequest(body []byte, opts Options) (CreateRequest, error) {
	top, err := object(body, "")
	if err != nil {
		return CreateRequest{}, err
	}
	if err := known(top, "", "video", "title", "input_language", "output_settings", "callback_url", "callback_id"); err != nil {
		return CreateRequest{}, err
	}
	req := CreateRequest{OutputSettings: DefaultOutputSettings()}

	raw, ok := top["video"]
	if !ok {
		return req, InvalidParam("video", "video is required: an object with type \"url\" or \"asset_id\".")
	}
	if req.Video, err = decodeVideo(raw); err != nil {
		return req, err
	}
	if req.Title, err = nullableString(top, "title"); err != nil {
		return req, err
	}
	if req.InputLanguage, err = nullableString(top, "input_language"); err != nil {
		return req, err
	}
	if raw, ok := top["output_settings"]; ok {
		if req.OutputSettings, err = decodeSettings(raw); err != nil {
			return req, err
		}
	}
	if req.CallbackURL, err = nullableString(top, "callback_url"); err != nil {
		return req, err
	}
	if req.CallbackID, err = nullableString(top, "callback_id"); err != nil {
		return req, err
	}
	if err := req.Validate(opts); err != nil {
		return req, err
	}
	return req, nil
}

// object decodes one JSON object level, refusing anything after it.
func object(b []byte, param string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		if param == "" {
			return nil, invalidBody("The request body is empty; send a JSON object.")
		}
		return nil, InvalidParam(param, "%s must be an object.", param)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		if param == "" {
			if _, ok := err.(*json.UnmarshalTypeError); ok || (err == nil && m == nil) {
				return nil, invalidBody("The request body must be a JSON object.")
			}
			return nil, invalidBody("The request body is not valid JSON.")
		}
		return nil, InvalidParam(param, "%s must be an object.", param)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidBody("The request body has data after the JSON object.")
	}
	return m, nil
}

// known refuses fields the schema does not list.
func known(m map[string]json.RawMessage, prefix string, fields ...string) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names) // the first unknown field, by name, so errors are stable
	for _, k := range names {
		if !slices.Contains(fields, k) {
			return InvalidParam(prefix+k, "Unknown field %q: allowed fields are %s.", prefix+k, quoteList(fields))
		}
	}
	return nil
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// str decodes a JSON string at param.
func str(raw json.RawMessage, param, what string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", InvalidParam(param, "%s must be %s.", param, what)
	}
	return s, nil
}

func nullableString(m map[string]json.RawMessage, param string) (*string, error) {
	raw, ok := m[param]
	if !ok || isNull(raw) {
		return nil, nil
	}
	s, err := str(raw, param, "a string or null")
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func decodeVideo(raw json.RawMessage) (Video, error) {
	m, err := object(raw, "video")
	if err != nil || isNull(raw) {
		return Video{}, InvalidParam("video", "video must be an object with type \"url\" or \"asset_id\".")
	}
	var v Video
	t, ok := m["type"]
	if !ok {
		return v, InvalidParam("video.type", "video.type is required: \"url\" or \"asset_id\".")
	}
	if v.Type, err = str(t, "video.type", "\"url\" or \"asset_id\""); err != nil {
		return v, err
	}
	switch v.Type {
	case VideoURL:
		if err := known(m, "video.", "type", "url"); err != nil {
			return v, err
		}
		raw, ok := m["url"]
		if !ok {
			return v, InvalidParam("video.url", "video.url is required when video.type is \"url\".")
		}
		v.URL, err = str(raw, "video.url", "a string")
	case VideoAssetID:
		if err := known(m, "video.", "type", "asset_id"); err != nil {
			return v, err
		}
		raw, ok := m["asset_id"]
		if !ok {
			return v, InvalidParam("video.asset_id", "video.asset_id is required when video.type is \"asset_id\".")
		}
		v.AssetID, err = str(raw, "video.asset_id", "a string")
	default:
		return v, InvalidParam("video.type", "video.type must be \"url\" or \"asset_id\", not %q.", v.Type)
	}
	return v, err
}

func decodeSettings(raw json.RawMessage) (OutputSettings, error) {
	s := DefaultOutputSettings()
	if isNull(raw) {
		return s, InvalidParam("output_settings", "output_settings must be an object.")
	}
	m, err := object(raw, "output_settings")
	if err != nil {
		return s, err
	}
	if err := known(m, "output_settings.", "duration_types", "aspect_ratio", "captions", "caption_style", "prompt"); err != nil {
		return s, err
	}
	const dt = "output_settings.duration_types"
	if raw, ok := m["duration_types"]; ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil {
			return s, InvalidParam(dt, "%s must be an array of 1 to 4 of %s.", dt, durationList())
		}
		s.DurationTypes = make([]DurationType, len(items))
		for i, it := range items {
			v, err := str(it, dt, "")
			if err != nil {
				return s, InvalidParam(dt, "%s[%d] must be one of %s (a string).", dt, i, durationList())
			}
			s.DurationTypes[i] = DurationType(v)
		}
	}
	if raw, ok := m["aspect_ratio"]; ok {
		v, err := str(raw, "output_settings.aspect_ratio", "one of \"landscape\", \"portrait\", \"square\"")
		if err != nil {
			return s, err
		}
		s.AspectRatio = AspectRatio(v)
	}
	if raw, ok := m["captions"]; ok {
		if err := json.Unmarshal(raw, &s.Captions); err != nil || isNull(raw) {
			return s, InvalidParam("output_settings.captions", "output_settings.captions must be true or false.")
		}
	}
	if s.CaptionStyle, err = nullableString(m, "caption_style"); err != nil {
		return s, relabel(err, "output_settings.caption_style")
	}
	if s.Prompt, err = nullableString(m, "prompt"); err != nil {
		return s, relabel(err, "output_settings.prompt")
	}
	return s, nil
}

// relabel gives an error from a nested helper its full parameter path.
func relabel(err error, param string) error {
	if _, ok := AsError(err); ok {
		return InvalidParam(param, "%s must be a string or null.", param)
	}
	return err
}

func durationList() string {
	s := make([]string, len(DurationTypes))
	for i, d := range DurationTypes {
		s[i] = string(d)
	}
	return quoteList(s)
}

// Validate checks the value rules of a typed request: the same rules the
// decoder applies, for requests built in code (the pipeline's sidecars).
func (r CreateRequest) Validate(opts Options) error {
	switch r.Video.Type {
	case VideoURL:
		if err := checkURL("video.url", r.Video.URL, opts); err != nil {
			return err
		}
	case VideoAssetID:
		if err := checkAssetID(r.Video.AssetID); err != nil {
			return err
		}
	default:
		return InvalidParam("video.type", "video.type must be \"url\" or \"asset_id\", not %q.", r.Video.Type)
	}
	if r.Title != nil {
		if err := checkText("title", *r.Title, MaxTitle); err != nil {
			return err
		}
	}
	if r.InputLanguage != nil {
		lang, err := NormalizeLanguage(*r.InputLanguage)
		if err != nil {
			return err
		}
		*r.InputLanguage = lang
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
		if err := checkText("callback_id", *r.CallbackID, MaxCallbackID); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks output settings: 1-4 known duration types, a known
// aspect ratio and caption style, and the prompt's length.
func (s OutputSettings) Validate() error {
	const dt = "output_settings.duration_types"
	if n := len(s.DurationTypes); n < 1 || n > MaxDurationTypes {
		return InvalidParam(dt, "%s must have 1 to %d entries, not %d.", dt, MaxDurationTypes, n)
	}
	for i, d := range s.DurationTypes {
		if !slices.Contains(DurationTypes, d) {
			return InvalidParam(dt, "%s[%d] must be one of %s, not %q.", dt, i, durationList(), d)
		}
	}
	if !slices.Contains(AspectRatios, s.AspectRatio) {
		return InvalidParam("output_settings.aspect_ratio", "output_settings.aspect_ratio must be one of \"landscape\", \"portrait\", \"square\", not %q.", s.AspectRatio)
	}
	if s.CaptionStyle != nil && !slices.Contains(CaptionStyles, *s.CaptionStyle) {
		return InvalidParam("output_settings.caption_style", "Unknown caption style %q; valid styles: %s.", *s.CaptionStyle, strings.Join(CaptionStyles, ", "))
	}
	if s.Prompt != nil {
		if err := checkText("output_settings.prompt", *s.Prompt, MaxPrompt); err != nil {
			return err
		}
	}
	return nil
}

// checkText limits a string's length in characters (not bytes) and refuses
// invalid UTF-8 and control characters.
func checkText(param, s string, max int) error {
	if !utf8.ValidString(s) {
		return InvalidParam(param, "%s is not valid UTF-8.", param)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return InvalidParam(param, "%s is %d characters; at most %d are allowed.", param, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return InvalidParam(param, "%s contains a control character.", param)
		}
	}
	return nil
}

func checkURL(param, raw string, opts Options) error {
	if raw == "" {
		return InvalidParam(param, "%s must not be empty.", param)
	}
	if len(raw) > MaxURL {
		return InvalidParam(param, "%s is longer than %d characters.", param, MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return InvalidParam(param, "%s must be an absolute https URL.", param)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && opts.AllowHTTP) {
		return InvalidParam(param, "%s must use https, not %q.", param, u.Scheme)
	}
	if u.User != nil {
		return InvalidParam(param, "%s must not contain a user name or password.", param)
	}
	return nil
}

func checkAssetID(id string) error {
	if id == "" || len(id) > MaxAssetID {
		return InvalidParam("video.asset_id", "video.asset_id must be 1 to %d characters.", MaxAssetID)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return InvalidParam("video.asset_id", "video.asset_id may contain only letters, digits, '_' and '-'.")
		}
	}
	return nil
}

// ValidateIdempotencyKey checks the Idempotency-Key header.
func ValidateIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKey {
		return InvalidParam("Idempotency-Key", "Idempotency-Key must be 1 to %d characters.", MaxIdempotencyKey)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_:.-", r)) {
			return InvalidParam("Idempotency-Key", "Idempotency-Key may contain only letters, digits and _ : . -")
		}
	}
	return nil
}

// NormalizeLanguage accepts an ISO-639-1 code in any case and returns it in
// lower case.
func NormalizeLanguage(s string) (string, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if !iso6391[l] {
		return "", InvalidParam("input_language", "input_language must be an ISO-639-1 code such as \"en\" or \"es\", not %q.", s)
	}
	return l, nil
}

// ParseDurationTypes reads a comma-separated list such as "30,60,long".
func ParseDurationTypes(csv string) ([]DurationType, error) {
	var out []DurationType
	for _, f := range strings.Split(csv, ",") {
		out = append(out, DurationType(strings.TrimSpace(f)))
	}
	s := DefaultOutputSettings()
	s.DurationTypes = out
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// iso6391 holds every ISO 639-1 two-letter code.
var iso6391 = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs
	cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
	ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv
	mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
	rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur
	uz ve vi vo wa wo xh yi yo za zh zu`) {
		m[c] = true
	}
	return m
}()
