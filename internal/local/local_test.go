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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// TestDropFolder runs the whole pipeline on one machine: a file copied into
// inbox/, another uploaded through the S3 endpoint with the AWS SDK, a
// broken upload, and a re-upload of the same bytes.
func TestDropFolder(t *testing.T) {
	sampletest.EndToEnd(t)
	tmp := t.TempDir()
	talk := sampletest.Talk(t, sample.Options{Seconds: 35, Out: filepath.Join(tmp, "talk.mp4")})
	data := filepath.Join(tmp, "bucket")
	os.MkdirAll(filepath.Join(data, "inbox"), 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l, err := Start(ctx, Config{
		DataDir:  data,
		Defaults: clipping.CreateRequest{OutputSettings: clipping.OutputSettings{DurationTypes: []clipping.DurationType{clipping.Duration30}, AspectRatio: clipping.AspectSquare, Captions: true}},
		PollMin:  200 * time.Millisecond, PollMax: time.Second, MaxAttempts: 1000, JobTimeout: 3 * time.Minute,
		Scan: 200 * time.Millisecond, Sweep: 500 * time.Millisecond, Encoder: render.Encoder{Preset: "ultrafast"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// 1. A file copied into inbox/, with a sidecar.
	video, _ := os.ReadFile(talk.Video)
	os.WriteFile(filepath.Join(data, "inbox", "copied.json"), []byte(`{"title":"Copied","output_settings":{"duration_types":["30"],"caption_style":"minimal"}}`), 0o644)
	os.WriteFile(filepath.Join(data, "inbox", "copied.mp4"), video, 0o644)

	// 2. An upload through the S3 endpoint, as any S3 client would.
	client := s3.New(s3.Options{BaseEndpoint: aws.String(l.S3URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("anything", "anything", "")})
	f, _ := os.Open(talk.Video)
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String("inbox/team/uploaded.MP4"), Body: f})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// 3. A broken upload.
	os.WriteFile(filepath.Join(data, "inbox", "broken.mov"), []byte("this is not a video"), 0o644)

	if err := l.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"copied", "team/uploaded"} {
		b, err := os.ReadFile(filepath.Join(data, "clips", name, "manifest.json"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m pipeline.Manifest
		if err := json.Unmarshal(b, &m); err != nil || m.Status != "completed" || len(m.Clips) != 1 {
			t.Fatalf("%s manifest %s", name, b)
		}
		c := m.Clips[0]
		// The sidecar's settings replace the defaults (square) whole.
		aspect := map[string]clipping.AspectRatio{"copied": clipping.AspectPortrait, "team/uploaded": clipping.AspectSquare}[name]
		if c.Files["video"] != "s3://clipmill/clips/"+name+"/"+c.ID+".mp4" || *c.AspectRatio != aspect {
			t.Errorf("%s clip: files %v, aspect %s", name, c.Files, *c.AspectRatio)
		}
		if st, err := os.Stat(filepath.Join(data, "clips", name, c.ID+".mp4")); err != nil || st.Size() < 10000 {
			t.Errorf("%s clip file: %v", name, err)
		}
		if name == "copied" && (*m.Title != "Copied") {
			t.Errorf("sidecar title not used: %v", m.Title)
		}
	}
	b, err := os.ReadFile(filepath.Join(data, "failed", "broken.json"))
	if err != nil || !strings.Contains(string(b), "is not a media file") {
		t.Fatalf("broken upload: %s %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(data, "inbox", "broken.mov")); err != nil {
		t.Error("the broken source was moved")
	}

	// 4. The same bytes again, with the same settings: nothing changes.
	manifest := filepath.Join(data, "clips", "copied", "manifest.json")
	before, _ := os.ReadFile(manifest)
	executions, _ := os.ReadFile(filepath.Join(l.cfg.StateDir, "executions.json"))
	os.Remove(filepath.Join(data, "inbox", "copied.mp4"))
	time.Sleep(300 * time.Millisecond)
	os.WriteFile(filepath.Join(data, "inbox", "copied.mp4"), video, 0o644)
	time.Sleep(time.Second)
	if err := l.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(manifest)
	executions2, _ := os.ReadFile(filepath.Join(l.cfg.StateDir, "executions.json"))
	if string(before) != string(after) || string(executions) != string(executions2) {
		t.Fatal("re-uploading the same bytes changed something")
	}

	// 5. The manifest deleted: the video has no outcome, so its execution
	// runs again and writes it again, from the same job.
	os.Remove(manifest)
	waitFor(t, manifest)
	if err := l.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(manifest)
	var m1, m2 pipeline.Manifest
	json.Unmarshal(before, &m1)
	json.Unmarshal(again, &m2)
	if m2.JobID != m1.JobID || len(m2.Clips) != 1 || m2.Clips[0].ID != m1.Clips[0].ID {
		t.Fatalf("the manifest written again:\n%s\nwas:\n%s", again, before)
	}
}

// The S3 endpoint serves the bucket, never the state folder beside it:
// the server's key, secrets and database stay out of reach, by name or by
// a path that climbs out of the bucket.
func TestStateIsOutsideTheBucket(t *testing.T) {
	data := filepath.Join(t.TempDir(), "bucket")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := Start(ctx, Config{DataDir: data, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.cfg.StateDir != data+".state" {
		t.Errorf("state in %s, want %s.state", l.cfg.StateDir, data)
	}
	os.WriteFile(filepath.Join(data, "inbox", "notes.txt"), []byte("visible"), 0o644)
	client := s3.New(s3.Options{BaseEndpoint: aws.String(l.S3URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	for _, name := range []string{"server/api-key", "server/url-secret", "server/clipmill.db"} {
		if _, err := os.Stat(filepath.Join(l.cfg.StateDir, name)); err != nil {
			t.Fatalf("%s should exist on disk: %v", name, err)
		}
		for _, key := range []string{name, "../bucket.state/" + name, "inbox/../../bucket.state/" + name} {
			if _, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)}); err == nil {
				t.Errorf("GET %s through S3 succeeded", key)
			}
		}
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	if strings.Contains(strings.Join(keys, " "), "server/") || !strings.Contains(strings.Join(keys, " "), "inbox/notes.txt") {
		t.Errorf("listing %v", keys)
	}
	client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String("../bucket.state/server/api-key"),
		Body: strings.NewReader("mine now")})
	if b, _ := os.ReadFile(filepath.Join(l.cfg.StateDir, "server", "api-key")); strings.Contains(string(b), "mine now") {
		t.Fatal("the key was overwritten through S3")
	}
}

// State kept by an older clipmill in the data folder's .clipmill/ moves
// beside it; a state folder inside the data folder is refused.
func TestStateMoves(t *testing.T) {
	data := filepath.Join(t.TempDir(), "bucket")
	os.MkdirAll(filepath.Join(data, ".clipmill", "server"), 0o755)
	os.WriteFile(filepath.Join(data, ".clipmill", "server", "api-key"), []byte("old key\n"), 0o600)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := stateDir(data, "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "server", "api-key")); string(b) != "old key\n" {
		t.Errorf("the old key did not move: %q", b)
	}
	if _, err := os.Stat(filepath.Join(data, ".clipmill")); !os.IsNotExist(err) {
		t.Errorf("the old state folder is still served: %v", err)
	}
	for _, inside := range []string{data, filepath.Join(data, "state"), filepath.Join(data, "..state")} {
		if _, err := stateDir(data, inside, quiet); err == nil || !strings.Contains(err.Error(), "outside the data folder") {
			t.Errorf("state folder %s: err %v, want it refused", inside, err)
		}
	}
	// An old state folder beside a new one is refused, not served.
	os.MkdirAll(filepath.Join(data, ".clipmill", "server"), 0o755)
	if _, err := stateDir(data, "", quiet); err == nil || !strings.Contains(err.Error(), "older clipmill") {
		t.Errorf("old and new state folders: err %v, want a refusal", err)
	}
}

// With NoWatch the instance serves the bucket and the API, and submits
// nothing of what lands in inbox/: clipmill invoke's submit function does.
func TestNoWatch(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := Start(ctx, Config{DataDir: data, NoWatch: true, Scan: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	key, _ := os.ReadFile(filepath.Join(l.cfg.StateDir, "server", "api-key"))
	if l.APIKey == "" || l.APIKey != strings.TrimSpace(string(key)) || l.APIURL == "" {
		t.Errorf("APIKey %q, APIURL %q: want the server's key and URL", l.APIKey, l.APIURL)
	}
	os.WriteFile(filepath.Join(data, "inbox", "talk.mp4"), []byte("a video"), 0o644)
	time.Sleep(100 * time.Millisecond)
	if l.Active() != 0 || l.scanned() != 0 {
		t.Errorf("active %d, scans %d: the inbox was watched", l.Active(), l.scanned())
	}
	if _, err := os.Stat(filepath.Join(l.cfg.StateDir, "executions.json")); err == nil {
		t.Error("an execution was started")
	}
}
