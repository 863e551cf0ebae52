package clipping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Options relax the rules where a deployment allows it.
type Options struct {
	// AllowHTTP accepts plain http URLs for sources and callbacks: an
	// explicit choice for local use.
	AllowHTTP bool
}

// DecodeCreateRequest reads the body of POST /v3/ai-clipping the way the
// contract does: additionalProperties false at every level, the video
// discriminator, JSON types, then the value rules of Validate, and
// defaults for what is left out. It walks the JSON level by level rather
// than using json.Unmarshal so that every failure is an *Error with code
// invalid_parameter and the exact parameter path.
func DecodeCreateRequest(body []byte, opts Options) (CreateRequest, error) {
	return decodeRequest(body, opts, true)
}

// DecodeSettings reads a settings file of the drop-folder pipeline: a
// create request without its video (output_settings, title,
// input_language, callback_url, callback_id), checked by the same rules.
func DecodeSettings(body []byte, opts Options) (CreateRequest, error) {
	// Windows editors save files with a byte order mark; an API body has none.
	return decodeRequest(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), opts, false)
}

func decodeRequest(body []byte, opts Options, withVideo bool) (CreateRequest, error) {
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return CreateRequest{}, invalidBody("The request body is not valid UTF-8.")
	}
	top, err := readObject(body, "", "")
	if err != nil {
		return CreateRequest{}, err
	}
	fields := []string{"title", "input_language", "output_settings", "callback_url", "callback_id"}
	if withVideo {
		fields = append([]string{"video"}, fields...)
	}
	if err := top.only(fields...); err != nil {
		return CreateRequest{}, err
	}
	req := CreateRequest{OutputSettings: DefaultOutputSettings()}
	if withVideo {
		raw, ok := top.raw["video"]
		if !ok {
			return CreateRequest{}, InvalidParam("video", "video is required: %s.", videoShape)
		}
		if req.Video, err = decodeVideo(raw); err != nil {
			return CreateRequest{}, err
		}
	}
	if req.Title, err = top.nullableString("title"); err != nil {
		return CreateRequest{}, err
	}
	if req.InputLanguage, err = top.nullableString("input_language"); err != nil {
		return CreateRequest{}, err
	}
	if raw, ok := top.raw["output_settings"]; ok {
		if req.OutputSettings, err = decodeSettings(raw); err != nil {
			return CreateRequest{}, err
		}
	}
	if req.CallbackURL, err = top.nullableString("callback_url"); err != nil {
		return CreateRequest{}, err
	}
	if req.CallbackID, err = top.nullableString("callback_id"); err != nil {
		return CreateRequest{}, err
	}
	if withVideo {
		err = req.Validate(opts)
	} else {
		err = req.validateSettings(opts)
	}
	if err != nil {
		return CreateRequest{}, err
	}
	if req.InputLanguage != nil {
		lang, _ := NormalizeLanguage(*req.InputLanguage) // validation has accepted it
		req.InputLanguage = &lang
	}
	return req, nil
}

const videoShape = `an object such as {"type":"url","url":"https://..."} or {"type":"asset_id","asset_id":"..."}`

func decodeVideo(raw json.RawMessage) (Video, error) {
	obj, err := readObject(raw, "video", videoShape)
	if err != nil {
		return Video{}, err
	}
	var v Video
	t, ok := obj.raw["type"]
	if !ok {
		return v, InvalidParam("video.type", `video.type is required: "url" or "asset_id".`)
	}
	if v.Type, ok = jsonString(t); !ok {
		return v, InvalidParam("video.type", `video.type must be the string "url" or "asset_id", not %s.`, kind(t))
	}
	if err := checkVideoType(v.Type); err != nil {
		return v, err
	}
	// The discriminator decides which other key the object may hold.
	key := v.Type
	if err := obj.only("type", key); err != nil {
		return v, err
	}
	param := obj.param(key)
	raw, ok = obj.raw[key]
	if !ok {
		return v, InvalidParam(param, "%s is required when video.type is %q.", param, v.Type)
	}
	s, ok := jsonString(raw)
	if !ok {
		return v, InvalidParam(param, "%s must be a string, not %s.", param, kind(raw))
	}
	if key == VideoURL {
		v.URL = s
	} else {
		v.AssetID = s
	}
	return v, nil
}

func decodeSettings(raw json.RawMessage) (OutputSettings, error) {
	s := DefaultOutputSettings()
	obj, err := readObject(raw, "output_settings", "an object")
	if err != nil {
		return s, err
	}
	if err := obj.only("duration_types", "aspect_ratio", "captions", "caption_style", "prompt"); err != nil {
		return s, err
	}
	if raw, ok := obj.raw["duration_types"]; ok {
		const param = "output_settings.duration_types"
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || items == nil {
			return s, InvalidParam(param, "%s must be an array of 1 to %d of %s, not %s.", param, MaxDurationTypes, durationList(), kind(raw))
		}
		s.DurationTypes = make([]DurationType, len(items))
		for i, item := range items {
			d, ok := jsonString(item)
			if !ok {
				return s, InvalidParam(param, "%s[%d] must be one of %s (a string), not %s.", param, i, durationList(), kind(item))
			}
			s.DurationTypes[i] = DurationType(d)
		}
	}
	if raw, ok := obj.raw["aspect_ratio"]; ok {
		a, ok := jsonString(raw)
		if !ok {
			return s, InvalidParam("output_settings.aspect_ratio", "output_settings.aspect_ratio must be one of %s (a string), not %s.", aspectList(), kind(raw))
		}
		s.AspectRatio = AspectRatio(a)
	}
	if raw, ok := obj.raw["captions"]; ok {
		if kind(raw) != "a boolean" || json.Unmarshal(raw, &s.Captions) != nil {
			return s, InvalidParam("output_settings.captions", "output_settings.captions must be true or false, not %s.", kind(raw))
		}
	}
	if s.CaptionStyle, err = obj.nullableString("caption_style"); err != nil {
		return s, err
	}
	if s.Prompt, err = obj.nullableString("prompt"); err != nil {
		return s, err
	}
	return s, nil
}

// object is one JSON object level: its members, and its path for errors.
type object struct {
	path  string // "" for the body
	names []string
	raw   map[string]json.RawMessage
}

// readObject reads one JSON object level, refusing duplicate names and,
// for the body, anything after the object. want describes what the value
// must be, for the error when it is not an object.
func readObject(b []byte, path, want string) (object, error) {
	obj := object{path: path, raw: map[string]json.RawMessage{}}
	notObject := func() error {
		if path == "" {
			return invalidBody("The request body must be a JSON object.")
		}
		return InvalidParam(path, "%s must be %s, not %s.", path, want, kind(b))
	}
	// Values below the body are raw messages the parent already parsed,
	// so only the body can be malformed and syntax errors have no param.
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err == io.EOF {
		return obj, invalidBody("The request body is empty; send a JSON object.")
	}
	if err != nil {
		return obj, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return obj, notObject()
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return obj, syntaxError(err)
		}
		name, _ := tok.(string) // Token only returns a string in key position
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return obj, syntaxError(err)
		}
		// The last duplicate would win silently, so a proxy that checked
		// the first could be fooled: refuse them.
		if _, dup := obj.raw[name]; dup {
			return obj, InvalidParam(obj.param(name), "Field %q appears more than once.", obj.param(name))
		}
		obj.names = append(obj.names, name)
		obj.raw[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return obj, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return obj, invalidBody("The request body has data after the JSON object; send exactly one object.")
	}
	return obj, nil
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalidBody(fmt.Sprintf("The request body is not valid JSON: %s at byte %d.", se.Error(), se.Offset))
	}
	return invalidBody("The request body is not valid JSON: it ends too early.")
}

// param is the full path of a member, e.g. "video.url".
func (o object) param(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

// only refuses members the schema does not list, reporting the first in
// document order.
func (o object) only(allowed ...string) error {
	for _, name := range o.names {
		if !slices.Contains(allowed, name) {
			return InvalidParam(o.param(name), "Unknown field %q; allowed fields here are %s.", o.param(name), quoteList(allowed))
		}
	}
	return nil
}

// nullableString reads an optional member that is a string or null.
func (o object) nullableString(name string) (*string, error) {
	raw, ok := o.raw[name]
	if !ok || kind(raw) == "null" {
		return nil, nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return nil, InvalidParam(o.param(name), "%s must be a string or null, not %s.", o.param(name), kind(raw))
	}
	return &s, nil
}

// jsonString decodes a JSON string; null is not one.
func jsonString(raw json.RawMessage) (string, bool) {
	if kind(raw) != "a string" {
		return "", false
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// kind names the JSON type of a parsed value, for error messages.
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func quoteList[T ~string](vals []T) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func durationList() string { return quoteList(DurationTypes) }
func aspectList() string   { return quoteList(AspectRatios) }
