package speech

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clock"
	"github.com/clipmill/clipmill/internal/engine/transcript"
	"github.com/clipmill/clipmill/internal/httpx"
	"github.com/clipmill/clipmill/internal/openaicompat"
)

// OpenAI talks to any OpenAI-compatible /v1/audio/transcriptions endpoint
// (whisper servers, hosted APIs).
type OpenAI struct {
	// BaseURL is "https://api.openai.com" (the default), "http://127.0.0.1:8000"
	// or one ending in "/v1"; "/v1/audio/transcriptions" is appended without
	// doubling "/v1".
	BaseURL string
	// APIKey is sent as "Authorization: Bearer KEY" when non-empty; it is
	// never logged or put in errors.
	APIKey string
	// Model defaults to "whisper-1".
	Model string
	// HTTPClient defaults to a client with a 15-minute timeout: a CPU
	// whisper server can take several minutes for a 10-minute piece.
	HTTPClient *http.Client

	retryWait time.Duration // first wait between attempts; tests shorten it
}

const (
	openaiAttempts     = 3
	openaiMaxRetryWait = 30 * time.Second // cap on a server's Retry-After
	openaiMaxResponse  = 32 << 20         // a 10-minute verbose_json is ~200 kB
	openaiMaxErrorBody = 64 << 10
)

var openaiDefaultClient = &http.Client{Timeout: 15 * time.Minute}

// TranscribeFile sends one audio file (a WAV chunk of at most ~10 minutes)
// and returns its words, with times relative to the file. 429, 5xx and
// network errors are retried, up to 3 attempts in all.
func (o *OpenAI) TranscribeFile(ctx context.Context, path string, language string) (transcript.Transcript, error) {
	endpoint := openaicompat.Endpoint(o.BaseURL, "/audio/transcriptions")
	wait := o.retryWait
	if wait <= 0 {
		wait = time.Second
	}
	for attempt := 1; ; attempt++ {
		t, retry, after, err := o.openaiAttempt(ctx, endpoint, path, language)
		if err == nil {
			if t.Language == "" {
				t.Language = transcript.LanguageCode(language)
			}
			return t, nil
		}
		if ctx.Err() != nil {
			return transcript.Transcript{}, fmt.Errorf("transcribe %s: %w", filepath.Base(path), ctx.Err())
		}
		// final: Parallel need not try the piece again, as this has
		// retried what can be retried.
		if !retry {
			return transcript.Transcript{}, final{fmt.Errorf("transcribe %s: %w", filepath.Base(path), err)}
		}
		if attempt == openaiAttempts {
			return transcript.Transcript{}, final{fmt.Errorf("transcribe %s: giving up after %d attempts: %w", filepath.Base(path), attempt, err)}
		}
		// Jitter keeps parallel workers that were throttled together from
		// coming back together.
		d := wait<<(attempt-1) + rand.N(wait/2+1)
		if after >= 0 {
			d = min(after, openaiMaxRetryWait)
		}
		if err := clock.Sleep(ctx, d); err != nil {
			return transcript.Transcript{}, fmt.Errorf("transcribe %s: %w", filepath.Base(path), err)
		}
	}
}

// openaiAttempt makes one request. retry says whether another attempt may
// succeed; after is the server's Retry-After, or -1.
func (o *OpenAI) openaiAttempt(ctx context.Context, endpoint, path, language string) (t transcript.Transcript, retry bool, after time.Duration, err error) {
	after = -1
	body, contentType, err := o.openaiBody(path, language)
	if err != nil {
		return t, false, after, err
	}
	defer body.Close()
	req, err := openaicompat.NewRequest(ctx, endpoint, o.APIKey, contentType, body)
	if err != nil {
		return t, false, after, err
	}
	req.ContentLength = body.size
	client := o.HTTPClient
	if client == nil {
		client = openaiDefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return t, true, after, fmt.Errorf("send request: %w", err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, openaiMaxErrorBody))
		retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if retry {
			if d, ok := httpx.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				after = d
			}
		}
		return t, retry, after, fmt.Errorf("%s %s: %s", req.Method, req.URL.Redacted(), openaicompat.ErrorText(resp.Status, msg, o.APIKey))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, openaiMaxResponse+1))
	if err != nil {
		return t, true, after, fmt.Errorf("read response: %w", err)
	}
	if len(data) > openaiMaxResponse {
		return t, false, after, fmt.Errorf("response is larger than %d bytes", openaiMaxResponse)
	}
	t, err = transcript.ParseJSON(bytes.NewReader(data))
	if err != nil {
		return t, false, after, fmt.Errorf("bad response (%s): %w", openaicompat.Snippet(data, o.APIKey), err)
	}
	return t, false, after, nil
}

// openaiUpload is a request body that streams the audio file between the
// multipart header and trailer, so that the file is never all in memory and
// the request still has a Content-Length (some servers and proxies refuse
// chunked uploads).
type openaiUpload struct {
	io.Reader
	file *os.File
	size int64
}

func (u *openaiUpload) Close() error { return u.file.Close() }

func (o *OpenAI) openaiBody(path, language string) (*openaiUpload, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("open audio: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("open audio: %w", err)
	}
	model := o.Model
	if model == "" {
		model = "whisper-1"
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	fields := [][2]string{
		{"model", model},
		{"response_format", "verbose_json"},
		{"timestamp_granularities[]", "word"},
		{"timestamp_granularities[]", "segment"},
	}
	if language != "" {
		fields = append(fields, [2]string{"language", language})
	}
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("build request: %w", err)
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", multipart.FileContentDisposition("file", filepath.Base(path)))
	h.Set("Content-Type", openaiAudioType(path))
	if _, err := mw.CreatePart(h); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	n := head.Len()
	if err := mw.Close(); err != nil { // writes the trailer after the part header
		f.Close()
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	prefix, suffix := head.Bytes()[:n], head.Bytes()[n:]
	return &openaiUpload{
		Reader: io.MultiReader(bytes.NewReader(prefix), f, bytes.NewReader(suffix)),
		file:   f,
		size:   int64(len(prefix)) + st.Size() + int64(len(suffix)),
	}, mw.FormDataContentType(), nil
}

func openaiAudioType(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".wav":
		return "audio/wav"
	case ".mp3":
		return "audio/mpeg"
	case ".flac":
		return "audio/flac"
	case ".ogg", ".oga":
		return "audio/ogg"
	case ".m4a", ".mp4":
		return "audio/mp4"
	case ".webm":
		return "audio/webm"
	}
	return "application/octet-stream"
}
