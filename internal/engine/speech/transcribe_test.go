package speech

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/engine/speech/transcribetest"
)

// newTranscribe is a Transcribe provider whose real SDK clients talk to a
// fake Transcribe and to gofakes3, both on loopback.
func newTranscribe(t *testing.T, polls int, reason string) (Transcribe, *transcribetest.Fake) {
	t.Helper()
	c := transcribetest.New(t)
	c.Fake.Polls, c.Fake.Reason = polls, reason
	return Transcribe{Client: c.Transcribe, S3: c.S3, Bucket: transcribetest.Bucket, Poll: 10 * time.Millisecond}, c.Fake
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
	start := fake.Starts()[0]
	media := start["Media"].(map[string]any)["MediaFileUri"].(string)
	if !strings.HasPrefix(media, "s3://media/clipmill-transcribe/clipmill-") || start["MediaFormat"] != "wav" ||
		start["IdentifyLanguage"] != true || start["LanguageCode"] != nil || start["OutputBucketName"] != "media" {
		t.Errorf("start request %v", start)
	}
	if n := fake.Checks(start["TranscriptionJobName"].(string)); n != 3 {
		t.Errorf("%d status checks, want 3 (two in progress, then completed)", n)
	}
	// Nothing is left in the bucket.
	list, err := fake.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("media")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("left in the bucket: %d objects (%v)", len(list.Contents), err)
	}

	// A language given is passed as Transcribe's code.
	if _, err := tr.TranscribeFile(context.Background(), wavFile(t), "de"); err != nil {
		t.Fatal(err)
	}
	if s := fake.Starts()[1]; s["LanguageCode"] != "de-DE" || s["IdentifyLanguage"] != nil {
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
	if !errors.As(err, &ul) || len(fake.Starts()) != 0 {
		t.Errorf("an unknown language gives %v after %d requests", err, len(fake.Starts()))
	}

	tr, _ = newTranscribe(t, 1<<30, "")
	tr.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = tr.TranscribeFile(context.Background(), wavFile(t), "en")
	if err == nil || !strings.Contains(err.Error(), "did not finish within") || time.Since(start) > 5*time.Second {
		t.Errorf("a job that never ends gives %v after %v", err, time.Since(start))
	}
}

// A replayed step starts the job it started before: Transcribe answers
// ConflictException, which is the job already running.
func TestTranscribeStartTwice(t *testing.T) {
	tr, fake := newTranscribe(t, 1, "")
	ctx := context.Background()
	for range 2 {
		if err := tr.Start(ctx, "clipmill-talk-1", "work/a.wav", "work/t.json", "en"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Starts()); n != 2 {
		t.Fatalf("%d start requests", n)
	}
	for _, want := range []string{"running", "completed"} {
		if st, _, err := tr.Status(ctx, "clipmill-talk-1"); err != nil || st != want {
			t.Fatalf("status %q, %v; want %q", st, err, want)
		}
	}
	if _, _, err := tr.Status(ctx, "clipmill-missing"); err == nil {
		t.Error("a job that does not exist has a status")
	}
}
