package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// waitFor waits for a file to exist.
func waitFor(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// Every upload ends in an outcome, and a failed one is retried by
// uploading it again: the steps, with a video the server refuses.
func TestRetryAndOrphans(t *testing.T) {
	sampletest.EndToEnd(t)
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := Start(ctx, Config{DataDir: data, Defaults: clipping.CreateRequest{OutputSettings: clipping.DefaultOutputSettings()},
		PollMin: 100 * time.Millisecond, PollMax: 200 * time.Millisecond,
		MaxAttempts: 1000, JobTimeout: time.Minute, Scan: 100 * time.Millisecond, Sweep: 300 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client := s3Client(l, "any", "any")
	record := filepath.Join(data, pipeline.FailureKey("broken"))
	upload := func() {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // S3 keeps Last-Modified to the second
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String("inbox/broken.mp4"),
			Body: strings.NewReader("this is not a video")})
		if err != nil {
			t.Fatal(err)
		}
	}
	remove := func(key string) {
		t.Helper()
		if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	// outcome waits for the failure record of an attempt.
	outcome := func(attempt int) {
		t.Helper()
		var f pipeline.Failure
		for deadline := time.Now().Add(time.Minute); f.Attempt != attempt; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no failure record of attempt %d; the last one is of attempt %d", attempt, f.Attempt)
			}
			b, _ := os.ReadFile(record)
			f = pipeline.Failure{}
			json.Unmarshal(b, &f)
		}
		if !strings.Contains(f.Reason, "not a media file") {
			t.Fatalf("record %+v", f)
		}
		if err := l.Idle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	names := func() (out []string) {
		for name := range executions(t, data) {
			out = append(out, name)
		}
		return out
	}

	upload()
	outcome(1)
	before, _ := os.ReadFile(record)
	// S3 repeats the event: nothing changes.
	res, err := l.pipe.Submit(ctx, pipeline.Source{Bucket: Bucket, Key: "inbox/broken.mp4"})
	if after, _ := os.ReadFile(record); err != nil || !strings.Contains(res.Skipped, "already failed") || string(after) != string(before) || len(names()) != 1 {
		t.Fatalf("a repeated event: %+v %v", res, err)
	}

	// The same bytes again: the next attempt, under its own name.
	upload()
	outcome(2)
	if !strings.Contains(strings.Join(names(), " "), "broken-attempt2-") {
		t.Fatalf("re-upload: executions %v", names())
	}

	// The steps: delete the record and the video, upload again.
	remove(pipeline.FailureKey("broken"))
	remove("inbox/broken.mp4")
	upload()
	outcome(3)

	// Only the record deleted: the video has no outcome, and the sweep
	// runs its next attempt.
	os.Remove(record)
	outcome(4)
	if len(names()) != 4 {
		t.Fatalf("after deleting the record: %d executions", len(names()))
	}

	// failed/ deleted whole, markers and all: the first execution of this
	// upload runs again, and writes the record again.
	os.RemoveAll(filepath.Join(data, "failed"))
	outcome(1)
	if len(names()) != 4 {
		t.Fatalf("after deleting failed/: %d executions", len(names()))
	}
}
