package speech

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const openaiTestKey = "sk-test-0123456789secret"

// openaiVerboseJSON is what api.openai.com returns for verbose_json with
// word and segment timestamps.
const openaiVerboseJSON = `{
  "task": "transcribe",
  "language": "english",
  "duration": 2.5,
  "text": "Hello there. General Kenobi.",
  "words": [
    {"word": "Hello", "start": 0.0, "end": 0.38},
    {"word": "there.", "start": 0.38, "end": 0.9},
    {"word": "General", "start": 1.2, "end": 1.7},
    {"word": "Kenobi.", "start": 1.7, "end": 2.34}
  ],
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 2.34, "text": " Hello there. General Kenobi.", "tokens": [50364, 2425, 456, 13, 50464], "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 0.83, "no_speech_prob": 0.02}
  ],
  "usage": {"type": "duration", "seconds": 3}
}`

// openaiAudio writes a fake WAV file with bytes that would show up any
// mangling: CR LF, boundary-like dashes, NULs and high bytes.
func openaiAudio(t *testing.T) (string, []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	data := []byte("RIFF\x00\x00\x00\x00WAVEfmt \r\n--\r\n--boundary\r\n")
	for len(data) < 300_000 {
		data = append(data, byte(r.Uint32()))
	}
	path := filepath.Join(t.TempDir(), "piece-007.wav")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// checkOpenAIRequest checks everything the client sends.
func checkOpenAIRequest(t *testing.T, r *http.Request, key, model, language string, audio []byte) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if r.URL.Path != "/v1/audio/transcriptions" {
		t.Errorf("path = %s, want /v1/audio/transcriptions", r.URL.Path)
	}
	wantAuth := ""
	if key != "" {
		wantAuth = "Bearer " + key
	}
	if got := r.Header.Get("Authorization"); got != wantAuth {
		t.Errorf("Authorization = %q, want %q", got, wantAuth)
	}
	if r.ContentLength <= int64(len(audio)) {
		t.Errorf("Content-Length = %d, want the length of the whole body", r.ContentLength)
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		t.Errorf("parse multipart form: %v", err)
		return
	}
	form := r.MultipartForm
	wantFields := map[string][]string{
		"model":                     {model},
		"response_format":           {"verbose_json"},
		"timestamp_granularities[]": {"word", "segment"},
	}
	if language != "" {
		wantFields["language"] = []string{language}
	}
	if len(form.Value) != len(wantFields) {
		t.Errorf("form fields = %v, want %v", form.Value, wantFields)
	}
	for k, want := range wantFields {
		if got := form.Value[k]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("field %s = %q, want %q", k, got, want)
		}
	}
	files := form.File["file"]
	if len(files) != 1 {
		t.Errorf("got %d files, want 1", len(files))
		return
	}
	fh := files[0]
	if fh.Filename != "piece-007.wav" {
		t.Errorf("file name = %q, want piece-007.wav", fh.Filename)
	}
	if ct := fh.Header.Get("Content-Type"); ct != "audio/wav" {
		t.Errorf("file content type = %q, want audio/wav", ct)
	}
	f, err := fh.Open()
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Error(err)
		return
	}
	if !bytes.Equal(got, audio) {
		t.Errorf("uploaded %d bytes differ from the %d bytes of the file", len(got), len(audio))
	}
}

func TestOpenAIRequest(t *testing.T) {
	path, audio := openaiAudio(t)
	for _, tc := range []struct {
		name, base, key, model, language, wantModel string
	}{
		{"root base URL", "", openaiTestKey, "whisper-large-v3", "en", "whisper-large-v3"},
		{"v1 base URL", "/v1/", openaiTestKey, "", "", "whisper-1"},
		{"no key", "/v1", "", "", "de", "whisper-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				checkOpenAIRequest(t, r, tc.key, tc.wantModel, tc.language, audio)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, openaiVerboseJSON)
			}))
			defer srv.Close()
			o := &OpenAI{BaseURL: srv.URL + tc.base, APIKey: tc.key, Model: tc.model}
			tr, err := o.TranscribeFile(context.Background(), path, tc.language)
			if err != nil {
				t.Fatal(err)
			}
			if calls.Load() != 1 {
				t.Errorf("%d requests, want 1", calls.Load())
			}
			if tr.Language != "en" {
				t.Errorf("language = %q, want en", tr.Language)
			}
			want := []struct {
				text       string
				start, end float64
			}{{"Hello", 0, 0.38}, {"there.", 0.38, 0.9}, {"General", 1.2, 1.7}, {"Kenobi.", 1.7, 2.34}}
			if len(tr.Words) != len(want) {
				t.Fatalf("got %d words, want %d", len(tr.Words), len(want))
			}
			for i, w := range want {
				g := tr.Words[i]
				if g.Text != w.text || g.Start != w.start || g.End != w.end {
					t.Errorf("word %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestOpenAISegmentsOnly(t *testing.T) {
	path, _ := openaiAudio(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"language":"french","duration":2,"text":" Oui merci.","segments":[{"id":0,"start":0.5,"end":1.5,"text":" Oui merci."}]}`)
	}))
	defer srv.Close()
	tr, err := (&OpenAI{BaseURL: srv.URL}).TranscribeFile(context.Background(), path, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Language != "fr" || len(tr.Words) != 2 || tr.Words[0].Text != "Oui" || tr.Words[0].Start != 0.5 || tr.Words[1].End != 1.5 {
		t.Errorf("got %+v", tr)
	}
}

// openaiSequence serves the handlers in turn, one a request.
func openaiSequence(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		io.Copy(io.Discard, r.Body)
		if i >= len(handlers) {
			t.Errorf("unexpected request %d", i+1)
			http.Error(w, "no more", http.StatusTeapot)
			return
		}
		handlers[i](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func openaiOK(w http.ResponseWriter, r *http.Request) { io.WriteString(w, openaiVerboseJSON) }

func TestOpenAIRetries500(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, n := openaiSequence(t,
		func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`, 500)
		},
		openaiOK,
	)
	o := &OpenAI{BaseURL: srv.URL, APIKey: openaiTestKey, retryWait: time.Millisecond}
	tr, err := o.TranscribeFile(context.Background(), path, "en")
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || len(tr.Words) != 4 {
		t.Errorf("%d requests, %d words; want 2 and 4", n.Load(), len(tr.Words))
	}
}

func TestOpenAIRetryAfter(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, n := openaiSequence(t,
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"Rate limit reached for whisper-1","type":"requests","code":"rate_limit_exceeded"}}`)
		},
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		openaiOK,
	)
	// A long own backoff shows that Retry-After is used instead.
	o := &OpenAI{BaseURL: srv.URL, retryWait: time.Minute}
	start := time.Now()
	if _, err := o.TranscribeFile(context.Background(), path, ""); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 10*time.Second {
		t.Errorf("took %v, want about 1 s", d)
	}
}

func TestOpenAIGivesUp(t *testing.T) {
	path, _ := openaiAudio(t)
	busy := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream busy", http.StatusServiceUnavailable)
	}
	srv, n := openaiSequence(t, busy, busy, busy)
	o := &OpenAI{BaseURL: srv.URL, retryWait: time.Millisecond}
	_, err := o.TranscribeFile(context.Background(), path, "")
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "3 attempts") || !strings.Contains(err.Error(), "upstream busy") {
		t.Errorf("error = %v, want one saying 503, upstream busy and 3 attempts", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
}

func TestOpenAIUnauthorized(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, n := openaiSequence(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// Echo the key, as a careless server might.
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+openaiTestKey+`. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	})
	o := &OpenAI{BaseURL: srv.URL, APIKey: openaiTestKey, retryWait: time.Millisecond}
	_, err := o.TranscribeFile(context.Background(), path, "en")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"401 Unauthorized", "Incorrect API key provided", "piece-007.wav"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, openaiTestKey) || strings.Contains(msg, "0123456789secret") {
		t.Errorf("error %q contains the API key", msg)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1: a 401 is not retried", n.Load())
	}
}

func TestOpenAILongErrorBody(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, _ := openaiSequence(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html><body>"+strings.Repeat("Bad request. ", 1000)+"</body></html>", http.StatusBadRequest)
	})
	_, err := (&OpenAI{BaseURL: srv.URL}).TranscribeFile(context.Background(), path, "")
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request: <html>") || len(err.Error()) > 500 {
		t.Errorf("error = %v, want a short one with the status and the start of the body", err)
	}
}

func TestOpenAINetworkErrorRetried(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, n := openaiSequence(t,
		func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close() // the connection drops without a response
		},
		openaiOK,
	)
	tr, err := (&OpenAI{BaseURL: srv.URL, retryWait: time.Millisecond}).TranscribeFile(context.Background(), path, "")
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 || len(tr.Words) != 4 {
		t.Errorf("%d requests, %d words; want 2 and 4", n.Load(), len(tr.Words))
	}
}

func TestOpenAICancel(t *testing.T) {
	path, _ := openaiAudio(t)
	t.Run("during request", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		testOpenAICancel(t, srv.URL)
	})
	t.Run("during backoff", func(t *testing.T) {
		srv, _ := openaiSequence(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		testOpenAICancel(t, srv.URL)
	})
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := (&OpenAI{BaseURL: "http://127.0.0.1:1"}).TranscribeFile(ctx, path, "")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
}

func testOpenAICancel(t *testing.T, base string) {
	t.Helper()
	path, _ := openaiAudio(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := (&OpenAI{BaseURL: base, retryWait: time.Minute}).TranscribeFile(ctx, path, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v after cancelling, want prompt return", d)
	}
}

func TestOpenAIMissingFile(t *testing.T) {
	srv, n := openaiSequence(t)
	_, err := (&OpenAI{BaseURL: srv.URL}).TranscribeFile(context.Background(), filepath.Join(t.TempDir(), "gone.wav"), "")
	if err == nil || !strings.Contains(err.Error(), "gone.wav") {
		t.Errorf("error = %v, want one naming the file", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d requests, want none", n.Load())
	}
}

func TestOpenAIBadResponse(t *testing.T) {
	path, _ := openaiAudio(t)
	srv, n := openaiSequence(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"text":"hello"}`) // response_format ignored
	})
	_, err := (&OpenAI{BaseURL: srv.URL}).TranscribeFile(context.Background(), path, "")
	if err == nil || !strings.Contains(err.Error(), "bad response") {
		t.Errorf("error = %v, want a bad response error", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}
