// Package clipping is the contract: HeyGen's AI Clipping API as Go types,
// the validation of a create request, and the error codes. The CLI, the
// server and the pipeline all use this one package, so a rule is written
// once. It depends on the standard library only.
package clipping

import (
	"encoding/json"
	"slices"
	"strings"
)

// DurationType is a requested clip length.
type DurationType string

const (
	Duration30   DurationType = "30"
	Duration60   DurationType = "60"
	Duration180  DurationType = "180"
	DurationLong DurationType = "long" // the model's choice above 180 s
)

// DurationTypes lists the valid duration types in order.
var DurationTypes = []DurationType{Duration30, Duration60, Duration180, DurationLong}

// AspectRatio is the output frame shape.
type AspectRatio string

const (
	AspectLandscape AspectRatio = "landscape" // 16:9
	AspectPortrait  AspectRatio = "portrait"  // 9:16
	AspectSquare    AspectRatio = "square"    // 1:1
)

// AspectRatios lists the valid aspect ratios.
var AspectRatios = []AspectRatio{AspectLandscape, AspectPortrait, AspectSquare}

// CaptionStyles names the caption presets; package captions implements
// each of them, and a test there checks the two lists agree.
var CaptionStyles = []string{"classic", "bold", "karaoke", "minimal", "boxed"}

// HeyGenCaptionStyles maps the preset names of HeyGen's API (its CLI sends
// them) to the nearest clipmill preset, so a HeyGen client's request works
// here unchanged.
var HeyGenCaptionStyles = map[string]string{
	"outline_classic": "classic", "bold": "bold",
	"simple": "minimal", "clean": "minimal", "elegant": "minimal", "subtle_gray": "minimal", "subtle_cyan": "minimal",
	"modern_boxed": "boxed", "block_dark": "boxed", "modern_dark": "boxed", "tag_yellow": "boxed", "stamp_red": "boxed",
	"chunky": "bold", "energy": "bold", "racing": "bold", "pop_single": "bold", "pop_purple": "bold",
	"neon_pink": "bold", "shadow_lime": "bold", "shadow_mint": "bold",
	"spotlight": "karaoke", "golden": "karaoke", "retro_gold": "karaoke", "exotic": "karaoke",
}

// CaptionPreset resolves a caption_style to a clipmill preset: one of
// CaptionStyles, or a HeyGen name mapped onto one. ok is false for a name
// that is neither.
func CaptionPreset(name string) (string, bool) {
	if slices.Contains(CaptionStyles, name) {
		return name, true
	}
	p, ok := HeyGenCaptionStyles[name]
	return p, ok
}

// DefaultCaptionStyle is used when caption_style is null.
const DefaultCaptionStyle = "classic"

// CreateRequest is the body of POST /v3/ai-clipping.
type CreateRequest struct {
	Video          Video          `json:"video"`
	Title          *string        `json:"title"`
	InputLanguage  *string        `json:"input_language"`
	OutputSettings OutputSettings `json:"output_settings"`
	CallbackURL    *string        `json:"callback_url,omitempty"`
	CallbackID     *string        `json:"callback_id,omitempty"`
}

// Video is the source, discriminated by Type.
type Video struct {
	Type    string `json:"type"`
	URL     string `json:"url,omitempty"`
	AssetID string `json:"asset_id,omitempty"`
}

// Video types.
const (
	VideoURL     = "url"
	VideoAssetID = "asset_id"
)

// OutputSettings configure the clips a job produces.
type OutputSettings struct {
	DurationTypes []DurationType `json:"duration_types"`
	AspectRatio   AspectRatio    `json:"aspect_ratio"`
	Captions      bool           `json:"captions"`
	CaptionStyle  *string        `json:"caption_style"`
	Prompt        *string        `json:"prompt"`
}

// DefaultOutputSettings are the settings of a request that gives none.
func DefaultOutputSettings() OutputSettings {
	return OutputSettings{
		DurationTypes: []DurationType{Duration60},
		AspectRatio:   AspectPortrait,
		Captions:      true,
	}
}

// JobStatus is a job's state.
type JobStatus string

const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Terminal reports whether a job in this state will not change again.
func (s JobStatus) Terminal() bool {
	return s == JobCompleted || s == JobFailed || s == JobCancelled
}

// ClipStatus is a clip's state.
type ClipStatus string

const (
	ClipPending   ClipStatus = "pending"
	ClipCompleted ClipStatus = "completed"
	ClipFailed    ClipStatus = "failed"
)

// Job is the resource GET /v3/ai-clipping/{id} returns.
type Job struct {
	ID             string    `json:"id"`
	Status         JobStatus `json:"status"`
	Title          *string   `json:"title"`
	InputLanguage  *string   `json:"input_language"`
	CallbackID     *string   `json:"callback_id"`
	SourceDuration *float64  `json:"source_duration"`
	CreatedAt      *int64    `json:"created_at"`
	Progress       int       `json:"progress"`
	FailureMessage *string   `json:"failure_message,omitempty"` // only when failed
	Clips          []Clip    `json:"clips"`
}

// MarshalJSON writes clips as [] rather than null before the first clip.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	if j.Clips == nil {
		j.Clips = []Clip{}
	}
	return json.Marshal(plain(j))
}

// Clip is one produced clip. Nullable fields are null until it completes.
type Clip struct {
	ID              string       `json:"id"`
	Status          ClipStatus   `json:"status"`
	Title           *string      `json:"title"`
	DurationSeconds *float64     `json:"duration_seconds"`
	AspectRatio     *AspectRatio `json:"aspect_ratio"`
	ViralityScore   *int         `json:"virality_score"`
	ThumbnailURL    *string      `json:"thumbnail_url"`
	VideoURL        *string      `json:"video_url"`
	FailureMessage  *string      `json:"failure_message"`

	// clipmill extensions, which HeyGen clients ignore.
	DurationType   DurationType `json:"duration_type"`
	StartSeconds   *float64     `json:"start_seconds"`
	EndSeconds     *float64     `json:"end_seconds"`
	Transcript     *string      `json:"transcript"`
	CaptionsSRTURL *string      `json:"captions_srt_url"`
	CaptionsVTTURL *string      `json:"captions_vtt_url"`
	Reason         *string      `json:"reason"`
	ExpiresAt      *int64       `json:"expires_at"`
	Hashtags       Tags         `json:"hashtags"` // "#word"s; [] when none were written
}

// Tags are hashtags. None are written as [] rather than null, as the
// contract says. (The method is on the field's type, not on Clip, so that
// types that embed a Clip keep their own fields.)
type Tags []string

func (t Tags) MarshalJSON() ([]byte, error) {
	if t == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(t))
}

// Data is the success envelope.
type Data[T any] struct {
	Data T `json:"data"`
}

// List is the body of GET /v3/ai-clipping.
type List struct {
	Data      []Job   `json:"data"`
	HasMore   bool    `json:"has_more"`
	NextToken *string `json:"next_token"`
}

// MarshalJSON writes an empty page as [] rather than null.
func (l List) MarshalJSON() ([]byte, error) {
	type plain List
	if l.Data == nil {
		l.Data = []Job{}
	}
	return json.Marshal(plain(l))
}

// Created is the payload of a 202 from POST /v3/ai-clipping.
type Created struct {
	AIClippingID string `json:"ai_clipping_id"`
}

// Asset is the payload of an upload.
type Asset struct {
	AssetID   string `json:"asset_id"`
	URL       string `json:"url"`
	MimeType  string `json:"mime_type"`
	SizeBytes int64  `json:"size_bytes"`
}

// WebhookEvent is what a callback_url receives when a job ends.
type WebhookEvent struct {
	EventType string `json:"event_type"`
	EventData Job    `json:"event_data"`
}

// Webhook event types.
const (
	EventSuccess = "ai_clipping.success"
	EventFail    = "ai_clipping.fail"
)

// Ptr returns a pointer to v, for the contract's many nullable fields.
func Ptr[T any](v T) *T { return &v }

// videoTypes are the MIME types of the video files clipmill takes, by
// extension: built in, because a minimal container has no /etc/mime.types.
var videoTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
	".mkv": "video/x-matroska", ".webm": "video/webm", ".avi": "video/x-msvideo",
}

// VideoType is the MIME type of a video file name's extension (any case);
// ok is false for other files.
func VideoType(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", false
	}
	t, ok := videoTypes[strings.ToLower(name[i:])]
	return t, ok
}
