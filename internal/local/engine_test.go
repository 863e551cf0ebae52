package local

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/pipeline"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// TestDropFolderEngine runs the engine backend on one machine: engine.asl.json
// through internal/asl, with real ffmpeg. A talk with its transcript beside
// it gets clips with its exact words; one without is recognised locally
// (pocketsphinx: its words are poor, but they come out, with times); a
// file that is not a video gets a failure record.
func TestDropFolderEngine(t *testing.T) {
	sampletest.EndToEnd(t)
	tmp := t.TempDir()
	talk := sampletest.Talk(t, sample.Options{Seconds: 35, Out: filepath.Join(tmp, "talk.mp4")})
	data := filepath.Join(tmp, "bucket")
	inbox := filepath.Join(data, "inbox")
	os.MkdirAll(inbox, 0o755)
	video, _ := os.ReadFile(talk.Video)
	srt, _ := os.ReadFile(talk.SRT)
	// The transcript goes first: the video starts the job.
	os.WriteFile(filepath.Join(inbox, "exact.srt"), srt, 0o644)
	os.WriteFile(filepath.Join(inbox, "exact.mp4"), video, 0o644)
	os.WriteFile(filepath.Join(inbox, "heard.mp4"), video, 0o644)
	os.WriteFile(filepath.Join(inbox, "broken.mov"), []byte("this is not a video"), 0o644)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := Start(ctx, Config{
		DataDir: data, Backend: BackendEngine, RenderConcurrency: 2,
		Defaults: clipping.CreateRequest{OutputSettings: clipping.OutputSettings{DurationTypes: []clipping.DurationType{clipping.Duration30},
			AspectRatio: clipping.AspectPortrait, Captions: true}},
		MaxAttempts: 1000, JobTimeout: 4 * time.Minute, Scan: 200 * time.Millisecond, Sweep: time.Minute,
		Encoder: render.Encoder{Preset: "ultrafast"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.APIURL != "" {
		t.Error("the engine backend started an API server")
	}
	if err := l.Idle(ctx); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"exact", "heard"} {
		b, err := os.ReadFile(filepath.Join(data, "clips", name, "manifest.json"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m pipeline.Manifest
		if err := json.Unmarshal(b, &m); err != nil || m.Status != "completed" || m.Backend != "engine" || len(m.Clips) != 1 {
			t.Fatalf("%s manifest %s", name, b)
		}
		c := m.Clips[0]
		if c.Status != clipping.ClipCompleted || c.Transcript == nil || *c.Transcript == "" || c.Title == nil || *c.Title == "" {
			t.Fatalf("%s clip %+v", name, c)
		}
		if name == "exact" && !strings.HasPrefix(*c.Transcript, talk.Sentences[0].Text) {
			t.Errorf("the sidecar's words were not used: %q", *c.Transcript)
		}
		// Each file is where the manifest says, and the video plays: a
		// portrait picture and sound for the clip's length.
		for kind, uri := range c.Files {
			if _, err := os.Stat(filepath.Join(data, strings.TrimPrefix(uri, "s3://"+Bucket+"/"))); err != nil {
				t.Errorf("%s %s: %v", name, kind, err)
			}
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height:format=duration",
			"-of", "csv=p=0", *c.VideoURL).Output()
		if err != nil || !strings.Contains(string(out), "video,1080,1920") || !strings.Contains(string(out), "audio") {
			t.Errorf("%s: ffprobe of its URL: %q, %v", name, out, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(data, "failed", "broken.json"))
	if err != nil || !strings.Contains(string(b), "not a media file") {
		t.Fatalf("broken: %s %v", b, err)
	}
	// The work files keep the plan, not the audio.
	plans, _ := filepath.Glob(filepath.Join(data, "work", "*", "plan.json"))
	audio, _ := filepath.Glob(filepath.Join(data, "work", "*", "audio.*"))
	if len(plans) != 2 || len(audio) != 0 {
		t.Errorf("work files: plans %v, audio %v", plans, audio)
	}
}
