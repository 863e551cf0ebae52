package clipping_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A pending job shows every nullable field as null and clips as [].
func TestJobJSON(t *testing.T) {
	got := marshal(t, clipping.Data[clipping.Job]{Data: clipping.Job{ID: "j1", Status: clipping.JobPending}})
	want := `{"data":{"id":"j1","status":"pending","title":null,"input_language":null,"callback_id":null,` +
		`"source_duration":null,"created_at":null,"progress":0,"clips":[]}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	// Through a pointer and inside a webhook, too.
	if s := marshal(t, &clipping.Job{}); !strings.Contains(s, `"clips":[]`) {
		t.Errorf("*Job: %s", s)
	}
	if s := marshal(t, clipping.WebhookEvent{EventType: clipping.EventFail}); !strings.Contains(s, `"event_type":"ai_clipping.fail","event_data":{`) || !strings.Contains(s, `"clips":[]`) {
		t.Errorf("webhook: %s", s)
	}
	if s := marshal(t, clipping.List{}); s != `{"data":[],"has_more":false,"next_token":null}` {
		t.Errorf("empty list: %s", s)
	}

	// failure_message appears when set (on a failed job).
	failed := clipping.Job{ID: "j2", Status: clipping.JobFailed, FailureMessage: clipping.Ptr("The source has no video stream.")}
	if s := marshal(t, failed); !strings.Contains(s, `"failure_message":"The source has no video stream."`) {
		t.Errorf("failed job: %s", s)
	}
}

func TestClipJSON(t *testing.T) {
	got := marshal(t, clipping.Clip{ID: "c1", Status: clipping.ClipPending, DurationType: clipping.Duration30})
	want := `{"id":"c1","status":"pending","title":null,"duration_seconds":null,"aspect_ratio":null,` +
		`"virality_score":null,"thumbnail_url":null,"video_url":null,"failure_message":null,` +
		`"duration_type":"30","start_seconds":null,"end_seconds":null,"transcript":null,` +
		`"captions_srt_url":null,"captions_vtt_url":null,"reason":null,"expires_at":null,"hashtags":[]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Hashtags are an array, never null, and also inside a job.
	tagged := marshal(t, clipping.Clip{ID: "c1", Hashtags: []string{"#coffee", "#brewing", "#café"}})
	if !strings.HasSuffix(tagged, `"hashtags":["#coffee","#brewing","#café"]}`) {
		t.Errorf("tagged clip: %s", tagged)
	}
	if s := marshal(t, &clipping.Job{Clips: []clipping.Clip{{ID: "c1"}}}); !strings.Contains(s, `"hashtags":[]`) {
		t.Errorf("job: %s", s)
	}
}

func TestJobRoundTrip(t *testing.T) {
	job := clipping.Job{
		ID: "j1", Status: clipping.JobCompleted, Title: clipping.Ptr("Talk"), InputLanguage: clipping.Ptr("en"),
		CallbackID: clipping.Ptr("cb"), SourceDuration: clipping.Ptr(612.5), CreatedAt: clipping.Ptr(int64(1700000000)),
		Progress: 100,
		Clips: []clipping.Clip{{
			ID: "c1", Status: clipping.ClipCompleted, Title: clipping.Ptr("Pricing"), DurationSeconds: clipping.Ptr(31.2),
			AspectRatio: clipping.Ptr(clipping.AspectPortrait), ViralityScore: clipping.Ptr(87),
			ThumbnailURL: clipping.Ptr("https://s.test/c1.jpg"), VideoURL: clipping.Ptr("https://s.test/c1.mp4"),
			DurationType: clipping.Duration30, StartSeconds: clipping.Ptr(10.0), EndSeconds: clipping.Ptr(41.2),
			Transcript: clipping.Ptr("so the price"), CaptionsSRTURL: clipping.Ptr("https://s.test/c1.srt"),
			CaptionsVTTURL: clipping.Ptr("https://s.test/c1.vtt"), Reason: clipping.Ptr("a clear claim"),
			ExpiresAt: clipping.Ptr(int64(1700003600)), Hashtags: []string{"#pricing", "#saas", "#startups"},
		}, {ID: "c2", Status: clipping.ClipFailed, FailureMessage: clipping.Ptr("render failed"), DurationType: clipping.DurationLong,
			Hashtags: []string{}}}, // none is written as [], which reads back empty, not nil
	}
	b := marshal(t, clipping.Data[clipping.Job]{Data: job})
	var back clipping.Data[clipping.Job]
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Data, job) {
		t.Fatalf("round trip changed the job:\n%s\n%s", b, marshal(t, back))
	}
	if !strings.Contains(b, `"failure_message":null`) || strings.Contains(b, `"failure_message":null,"clips"`) {
		t.Errorf("a completed clip shows failure_message null, a job without one leaves it out: %s", b)
	}
}

func TestEnvelopes(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{clipping.Data[clipping.Created]{Data: clipping.Created{AIClippingID: "j1"}}, `{"data":{"ai_clipping_id":"j1"}}`},
		{clipping.Data[clipping.Asset]{Data: clipping.Asset{AssetID: "a1", URL: "https://s.test/a1", MimeType: "video/mp4", SizeBytes: 42}},
			`{"data":{"asset_id":"a1","url":"https://s.test/a1","mime_type":"video/mp4","size_bytes":42}}`},
		{clipping.List{Data: []clipping.Job{{ID: "j1", Status: clipping.JobRunning, Progress: 40}}, HasMore: true, NextToken: clipping.Ptr("t2")},
			`{"data":[{"id":"j1","status":"running","title":null,"input_language":null,"callback_id":null,"source_duration":null,"created_at":null,"progress":40,"clips":[]}],"has_more":true,"next_token":"t2"}`},
		{clipping.CreateRequest{Video: clipping.Video{Type: clipping.VideoAssetID, AssetID: "a1"}, OutputSettings: clipping.DefaultOutputSettings()},
			`{"video":{"type":"asset_id","asset_id":"a1"},"title":null,"input_language":null,"output_settings":{"duration_types":["60"],"aspect_ratio":"portrait","captions":true,"caption_style":null,"prompt":null}}`},
		{clipping.ErrorBody{Error: clipping.InvalidParam("video.url", "video.url must be an absolute https URL.")},
			`{"error":{"code":"invalid_parameter","message":"video.url must be an absolute https URL.","param":"video.url","doc_url":null}}`},
		{clipping.ErrorBody{Error: clipping.ErrAuthentication()},
			`{"error":{"code":"authentication_failed","message":"Invalid or expired API key. Verify your x-api-key header.","param":null,"doc_url":null}}`},
	}
	for _, c := range cases {
		if got := marshal(t, c.v); got != c.want {
			t.Errorf("%T:\ngot  %s\nwant %s", c.v, got, c.want)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	cases := map[string]int{
		clipping.CodeInvalidParameter:     http.StatusBadRequest,
		clipping.CodeAuthenticationFailed: http.StatusUnauthorized,
		clipping.CodeNotFound:             http.StatusNotFound,
		clipping.CodeRequestInProgress:    http.StatusConflict,
		clipping.CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
		clipping.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
		clipping.CodeRateLimitExceeded:    http.StatusTooManyRequests,
		clipping.CodeInternal:             http.StatusInternalServerError,
		"no_such_code":                    http.StatusInternalServerError,
		"":                                http.StatusInternalServerError,
	}
	for code, want := range cases {
		if got := clipping.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, want)
		}
	}
}

// The fixed errors, to the letter of the seed and API.md.
func TestFixedErrors(t *testing.T) {
	cases := []struct {
		err  *clipping.Error
		code string
		msg  string
	}{
		{clipping.ErrAuthentication(), "authentication_failed", "Invalid or expired API key. Verify your x-api-key header."},
		{clipping.ErrInProgress(), "request_in_progress", "A request with this Idempotency-Key is already in progress. Retry shortly."},
		{clipping.ErrRateLimited(), "rate_limit_exceeded", "Too many requests. Retry after the duration specified in the Retry-After header."},
		{clipping.ErrNotFound("AI clipping job"), "not_found", "AI clipping job not found."},
		{clipping.ErrTooLarge(1 << 20), "payload_too_large", "The request body is larger than the limit of 1048576 bytes."},
		{clipping.ErrUnsupportedMediaType("text/plain", "a video file"), "unsupported_media_type", `Content-Type "text/plain" is not supported; send a video file.`},
		{clipping.ErrInternal(), "internal_error", "An internal error occurred. Retry later."},
	}
	for _, c := range cases {
		if c.err.Code != c.code || c.err.Message != c.msg || c.err.Param != nil || c.err.DocURL != nil {
			t.Errorf("got %+v, want %s %q", c.err, c.code, c.msg)
		}
	}
	// Each call is a fresh value, so a caller can set Param safely.
	a := clipping.ErrInternal()
	a.Message = "changed"
	if clipping.ErrInternal().Message == "changed" {
		t.Error("ErrInternal shares its value")
	}
}

func TestAsError(t *testing.T) {
	inner := clipping.InvalidParam("title", "title must be a string or null, not %s.", "a number")
	wrapped := fmt.Errorf("decoding: %w", inner)
	e, ok := clipping.AsError(wrapped)
	if !ok || e != inner {
		t.Fatalf("AsError(wrapped) = %v, %v", e, ok)
	}
	if got := wrapped.Error(); got != "decoding: invalid_parameter: title must be a string or null, not a number. (param title)" {
		t.Errorf("Error() = %q", got)
	}
	if _, ok := clipping.AsError(errors.New("plain")); ok {
		t.Error("AsError found an *Error in a plain error")
	}
	if _, ok := clipping.AsError(nil); ok {
		t.Error("AsError(nil) reported an error")
	}
}

func TestEnums(t *testing.T) {
	if fmt.Sprint(clipping.DurationTypes) != "[30 60 180 long]" || fmt.Sprint(clipping.AspectRatios) != "[landscape portrait square]" {
		t.Errorf("enums: %v %v", clipping.DurationTypes, clipping.AspectRatios)
	}
	if fmt.Sprint(clipping.CaptionStyles) != "[classic bold karaoke minimal boxed]" || clipping.DefaultCaptionStyle != "classic" {
		t.Errorf("caption styles: %v, default %q", clipping.CaptionStyles, clipping.DefaultCaptionStyle)
	}
	terminal := map[clipping.JobStatus]bool{
		clipping.JobPending: false, clipping.JobRunning: false,
		clipping.JobCompleted: true, clipping.JobFailed: true, clipping.JobCancelled: true,
	}
	for s, want := range terminal {
		if s.Terminal() != want {
			t.Errorf("%s.Terminal() = %v", s, !want)
		}
	}
}
