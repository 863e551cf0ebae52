package speech

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeTranscribe answers Amazon Transcribe's JSON API as AWS does, for the
// two calls clipmill makes. A job completes after polls checks, writing
// the result into the bucket (through the real S3 client), or fails with
// reason when one is set.
type fakeTranscribe struct {
	t      *testing.T
	s3     *s3.Client
	polls  int
	reason string

	mu     sync.Mutex
	starts []map[string]any
	checks int
}

func (f *fakeTranscribe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		http.Error(w, "bad request", 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "Transcribe.StartTranscriptionJob":
		f.starts = append(f.starts, in)
		json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": map[string]any{
			"TranscriptionJobName": in["TranscriptionJobName"], "TranscriptionJobStatus": "IN_PROGRESS"}})
	case "Transcribe.GetTranscriptionJob":
		f.checks++
		status := "IN_PROGRESS"
		job := map[string]any{"TranscriptionJobName": in["TranscriptionJobName"]}
		if f.checks > f.polls {
			status = "COMPLETED"
			if f.reason != "" {
				status, job["FailureReason"] = "FAILED", f.reason
			} else {
				start := f.starts[len(f.starts)-1]
				result := `{"jobName":"x","results":{"language_code":"en-US","transcripts":[{"transcript":"Hello there."}],"items":[` +
					`{"type":"pronunciation","start_time":"0.5","end_time":"0.9","alternatives":[{"confidence":"0.99","content":"Hello"}]},` +
					`{"type":"pronunciation","start_time":"1.0","end_time":"1.4","alternatives":[{"confidence":"0.97","content":"there"}]},` +
					`{"type":"punctuation","alternatives":[{"confidence":"0.0","content":"."}]}]}}`
				_, err := f.s3.PutObject(r.Context(), &s3.PutObjectInput{Bucket: aws.String(start["OutputBucketName"].(string)),
					Key: aws.String(start["OutputKey"].(string)), Body: strings.NewReader(result)})
				if err != nil {
					f.t.Error(err)
				}
				job["Transcript"] = map[string]any{"TranscriptFileUri": "https://s3.amazonaws.com/" + start["OutputBucketName"].(string) + "/" + start["OutputKey"].(string)}
			}
		}
		job["TranscriptionJobStatus"] = status
		json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": job})
	default:
		http.Error(w, "unknown target", 400)
	}
}

// newTranscribe is a Transcribe provider whose real SDK clients talk to a
// fake Transcribe and to gofakes3, both on loopback.
func newTranscribe(t *testing.T, polls int, reason string) (Transcribe, *fakeTranscribe) {
	t.Helper()
	creds := credentials.NewStaticCredentialsProvider("k", "s", "")
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(s3srv.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true, Region: "eu-west-1", Credentials: creds})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("media")}); err != nil {
		t.Fatal(err)
	}
	fake := &fakeTranscribe{t: t, s3: s3c, polls: polls, reason: reason}
	trsrv := httptest.NewServer(fake)
	t.Cleanup(trsrv.Close)
	trc := transcribe.New(transcribe.Options{BaseEndpoint: aws.String(trsrv.URL), Region: "eu-west-1", Credentials: creds})
	return Transcribe{Client: trc, S3: s3c, Bucket: "media", Poll: 10 * time.Millisecond}, fake
}

func wavFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(p, append([]byte("RIFF"), make([]byte, 100)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTranscribe(t *testing.T) {
	tr, fake := newTranscribe(t, 2, "")
	got, err := tr.TranscribeFile(context.Background(), wavFile(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Words) != 2 || got.Words[0].Text != "Hello" || got.Words[1].Text != "there." || got.Language != "en" {
		t.Fatalf("transcript %+v", got)
	}
	// The exact request: the audio where it was put, and the language left
	// to Transcribe to identify.
	start := fake.starts[0]
	media := start["Media"].(map[string]any)["MediaFileUri"].(string)
	if !strings.HasPrefix(media, "s3://media/clipmill-transcribe/clipmill-") || start["MediaFormat"] != "wav" ||
		start["IdentifyLanguage"] != true || start["LanguageCode"] != nil || start["OutputBucketName"] != "media" {
		t.Errorf("start request %v", start)
	}
	if fake.checks != 3 {
		t.Errorf("%d status checks, want 3 (two in progress, then completed)", fake.checks)
	}
	// Nothing is left in the bucket.
	list, err := fake.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("media")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("left in the bucket: %d objects (%v)", len(list.Contents), err)
	}

	// A language given is passed as Transcribe's code.
	if _, err := tr.TranscribeFile(context.Background(), wavFile(t), "de"); err != nil {
		t.Fatal(err)
	}
	if s := fake.starts[1]; s["LanguageCode"] != "de-DE" || s["IdentifyLanguage"] != nil {
		t.Errorf("start request %v", s)
	}
}

func TestTranscribeFailures(t *testing.T) {
	tr, _ := newTranscribe(t, 0, "The media file is not valid.")
	_, err := tr.TranscribeFile(context.Background(), wavFile(t), "en")
	var tf *TranscribeFailed
	if !errors.As(err, &tf) || !strings.Contains(err.Error(), "not valid") {
		t.Errorf("a failed job gives %v", err)
	}

	tr, fake := newTranscribe(t, 0, "")
	_, err = tr.TranscribeFile(context.Background(), wavFile(t), "xx")
	var ul *UnsupportedLanguageError
	if !errors.As(err, &ul) || len(fake.starts) != 0 {
		t.Errorf("an unknown language gives %v after %d requests", err, len(fake.starts))
	}

	tr, _ = newTranscribe(t, 1<<30, "")
	tr.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = tr.TranscribeFile(context.Background(), wavFile(t), "en")
	if err == nil || !strings.Contains(err.Error(), "did not finish within") || time.Since(start) > 5*time.Second {
		t.Errorf("a job that never ends gives %v after %v", err, time.Since(start))
	}
}
