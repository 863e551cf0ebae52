package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
	"github.com/clipmill/clipmill/internal/engine/selection"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// These end-to-end tests run the real command on media generated here:
// espeak-ng speech over testsrc2, rendered by real ffmpeg. They take a
// minute or two; `go test -short` skips them.

var (
	talksMu sync.Mutex
	talks   = map[string]*sample.Result{}
)

// talk makes (once per test binary) a sample talk of the given shape.
func talk(t *testing.T, name string, o sample.Options) *sample.Result {
	t.Helper()
	talksMu.Lock()
	defer talksMu.Unlock()
	if r, ok := talks[name]; ok {
		return r
	}
	o.Out = filepath.Join(fixtureDir, name+".mp4")
	r, err := sample.Generate(context.Background(), ffmpeg.Binaries{}, o)
	if err != nil {
		t.Fatal(err)
	}
	talks[name] = r
	return r
}

var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clipmill-e2e-")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// clipmill runs the command in-process and returns its exit status and
// output.
func clipmill(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

type probed struct {
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		Profile    string `json:"profile"`
		PixFmt     string `json:"pix_fmt"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		SampleRate string `json:"sample_rate"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probe(t *testing.T, p string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", p).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", p, err)
	}
	var pr probed
	if err := json.Unmarshal(out, &pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

func readManifest(t *testing.T, dir string) clipping.Job {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env clipping.Data[clipping.Job]
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return env.Data
}

// checkClips probes every clip of a completed manifest: frame size, codecs,
// a length inside its window, audio when wanted, and the side files.
func checkClips(t *testing.T, dir string, job clipping.Job, w, h int, audio bool) {
	t.Helper()
	if job.Status != clipping.JobCompleted || job.Progress != 100 || len(job.Clips) == 0 {
		t.Fatalf("job = %s, progress %d, %d clips", job.Status, job.Progress, len(job.Clips))
	}
	for _, c := range job.Clips {
		if c.Status != clipping.ClipCompleted || c.VideoURL == nil || c.ThumbnailURL == nil || c.Title == nil ||
			c.ViralityScore == nil || c.Reason == nil || c.StartSeconds == nil || c.EndSeconds == nil {
			t.Fatalf("clip %+v is incomplete", c)
		}
		pr := probe(t, filepath.Join(dir, *c.VideoURL))
		var sawVideo, sawAudio bool
		for _, s := range pr.Streams {
			switch s.CodecType {
			case "video":
				sawVideo = true
				if s.CodecName != "h264" || s.Profile != "High" || s.PixFmt != "yuv420p" || s.Width != w || s.Height != h {
					t.Errorf("%s: video %s %s %s %dx%d, want h264 High yuv420p %dx%d", *c.VideoURL, s.CodecName, s.Profile, s.PixFmt, s.Width, s.Height, w, h)
				}
			case "audio":
				sawAudio = true
				if s.CodecName != "aac" || s.SampleRate != "48000" {
					t.Errorf("%s: audio %s at %s Hz, want aac at 48000", *c.VideoURL, s.CodecName, s.SampleRate)
				}
			}
		}
		if !sawVideo || sawAudio != audio {
			t.Errorf("%s: video %v audio %v, want audio %v", *c.VideoURL, sawVideo, sawAudio, audio)
		}
		d, _ := strconv.ParseFloat(pr.Format.Duration, 64)
		win := selection.Windows[c.DurationType]
		planned := *c.EndSeconds - *c.StartSeconds
		if math.Abs(d-planned) > 0.3 || math.Abs(d-*c.DurationSeconds) > 0.05 {
			t.Errorf("%s: %.2f s long, planned %.2f, manifest says %.2f", *c.VideoURL, d, planned, *c.DurationSeconds)
		}
		if d > win.Max+0.5 {
			t.Errorf("%s: %.1f s is longer than the %s window", *c.VideoURL, d, c.DurationType)
		}
		for _, f := range []*string{c.ThumbnailURL, c.CaptionsSRTURL, c.CaptionsVTTURL} {
			if f == nil {
				continue
			}
			if st, err := os.Stat(filepath.Join(dir, *f)); err != nil || st.Size() == 0 {
				t.Errorf("%s missing or empty", *f)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "index.html")); err != nil || !bytes.Contains(b, []byte(*job.Clips[0].VideoURL)) {
		t.Errorf("index.html missing or does not link the clips: %v", err)
	}
}

// A landscape talk with a face becomes a captioned portrait clip; with
// captions off, the caption band differs and the rest of the frame does not.
func TestClipLandscapeTalkToPortrait(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "landscape", sample.Options{Seconds: 50, Width: 640, Height: 360})
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := clipmill("clip", tk.Video, "--transcript", tk.SRT, "--duration", "30",
		"--caption-style", "bold", "--prompt", "saving money", "--x264-preset", "ultrafast", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "manifest.json") || stderr != "" {
		t.Errorf("stdout %q, stderr %q (no progress bar when not a terminal)", stdout, stderr)
	}
	job := readManifest(t, dir)
	checkClips(t, dir, job, 1080, 1920, true)
	c := job.Clips[0]
	if !strings.Contains(strings.ToLower(*c.Transcript), "money") || c.CaptionsSRTURL == nil {
		t.Errorf("clip transcript %q, srt %v", *c.Transcript, c.CaptionsSRTURL)
	}
	if job.SourceDuration == nil || math.Abs(*job.SourceDuration-tk.Duration) > 0.5 {
		t.Errorf("source_duration = %v, want %.1f", job.SourceDuration, tk.Duration)
	}

	// The same cut without captions.
	plain := filepath.Join(t.TempDir(), "plain")
	code, _, stderr = clipmill("clip", tk.Video, "--transcript", tk.SRT, "--duration", "30",
		"--prompt", "saving money", "--captions=false", "--x264-preset", "ultrafast", "--out", plain)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pj := readManifest(t, plain)
	if *pj.Clips[0].StartSeconds != *c.StartSeconds {
		t.Fatalf("the two runs cut differently")
	}
	if pj.Clips[0].CaptionsSRTURL == nil || pj.Clips[0].CaptionsVTTURL == nil {
		t.Errorf("captions off still writes SRT and VTT")
	}
	band, rest := 0.0, 0.0
	for _, at := range []float64{3, 8, 13} {
		a := grayFrame(t, filepath.Join(dir, *c.VideoURL), at, 1080, 1920)
		b := grayFrame(t, filepath.Join(plain, *pj.Clips[0].VideoURL), at, 1080, 1920)
		band += meanDiff(a, b, 1080, 0.45, 0.80)
		rest += meanDiff(a, b, 1080, 0.05, 0.35)
	}
	if band < 3*rest || band < 3 {
		t.Fatalf("caption band differs by %.2f, the rest by %.2f: captions are not burned in", band, rest)
	}
}

// grayFrame decodes one frame at a time as 8-bit gray.
func grayFrame(t *testing.T, p string, at float64, w, h int) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprint(at), "-i", p, "-frames:v", "1",
		"-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
	if err != nil || len(out) != w*h {
		t.Fatalf("decode frame of %s at %v: %v (%d bytes)", p, at, err, len(out))
	}
	return out
}

// meanDiff is the mean absolute difference over the rows between two
// fractions of the height.
func meanDiff(a, b []byte, w int, from, to float64) float64 {
	h := len(a) / w
	var sum, n float64
	for y := int(from * float64(h)); y < int(to*float64(h)); y++ {
		for x := 0; x < w; x++ {
			d := float64(a[y*w+x]) - float64(b[y*w+x])
			sum += math.Abs(d)
			n++
		}
	}
	return sum / n
}

// A portrait source becomes landscape and square, recognised by
// pocketsphinx: words and times come out.
func TestClipPortraitTalkWithSpeechRecognition(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "portrait", sample.Options{Seconds: 40, Width: 360, Height: 640})
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := clipmill("clip", tk.Video, "--duration", "30", "--aspect", "landscape",
		"--caption-style", "karaoke", "--x264-preset", "ultrafast", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	job := readManifest(t, dir)
	checkClips(t, dir, job, 1920, 1080, true)
	c := job.Clips[0]
	if job.InputLanguage == nil || *job.InputLanguage != "en" {
		t.Errorf("input_language = %v, want en from pocketsphinx", job.InputLanguage)
	}
	if c.Transcript == nil || len(strings.Fields(*c.Transcript)) < 20 {
		t.Errorf("recognised transcript %v is too short for 30 s of speech", c.Transcript)
	}
	srt, err := os.ReadFile(filepath.Join(dir, *c.CaptionsSRTURL))
	if err != nil || !bytes.Contains(srt, []byte(" --> ")) {
		t.Errorf("SRT from recognised speech: %v %q", err, srt)
	}
}

// A silent source still gets a clip, chosen from the pictures, with a
// reason that says why there are no captions.
func TestClipSilentSource(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "silent", sample.Options{Seconds: 40, Width: 480, Height: 480, NoAudio: true})
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := clipmill("clip", tk.Video, "--duration", "30", "--aspect", "square", "--x264-preset", "ultrafast", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	job := readManifest(t, dir)
	checkClips(t, dir, job, 1080, 1080, false)
	c := job.Clips[0]
	if !strings.Contains(*c.Reason, "no audio track") || c.CaptionsSRTURL != nil {
		t.Errorf("reason %q, srt %v", *c.Reason, c.CaptionsSRTURL)
	}
}

// Bad input exits non-zero with one line naming the file or the flag, and
// never leaves a manifest that claims success.
func TestBadInput(t *testing.T) {
	sampletest.EndToEnd(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(text, []byte("not a video"), 0o644)
	good := talk(t, "landscape", sample.Options{Seconds: 50, Width: 640, Height: 360})
	badSRT := filepath.Join(dir, "bad.srt")
	os.WriteFile(badSRT, []byte("1\n00:00:xx,000 --> 00:00:02,000\nhello\n"), 0o644)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.mp4")}, 1, "nope.mp4: no such file"},
		{"not media", []string{text}, 1, "notes.mp4: is not a media file"},
		{"bad duration", []string{good.Video, "--duration", "45"}, 2, "--duration:"},
		{"five durations", []string{good.Video, "--duration", "30,30,30,30,30"}, 2, "--duration:"},
		{"bad aspect", []string{good.Video, "--aspect", "wide"}, 2, "--aspect:"},
		{"bad style", []string{good.Video, "--caption-style", "neon"}, 2, "--caption-style:"},
		{"bad language", []string{good.Video, "--language", "xx"}, 2, "--language:"},
		{"long prompt", []string{good.Video, "--prompt", strings.Repeat("é", 501)}, 2, "--prompt:"},
		{"missing transcript", []string{good.Video, "--transcript", filepath.Join(dir, "none.srt")}, 2, "--transcript:"},
		{"bad transcript", []string{good.Video, "--transcript", badSRT}, 1, "bad.srt:2:"},
		{"no input", nil, 2, "clip takes one INPUT"},
		{"unknown flag", []string{good.Video, "--colour", "red"}, 2, "colour"},
		{"not english", []string{good.Video, "--language", "de"}, 2, "--language: pocketsphinx recognises English only"},
		{"transcribe without bucket", []string{good.Video, "--speech", "transcribe"}, 2, "--speech transcribe needs --speech-bucket"},
		{"unknown recogniser", []string{good.Video, "--speech", "whisper"}, 2, "valid: pocketsphinx, openai, transcribe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"clip"}, c.args...)
			args = append(args, "--out", out, "--x264-preset", "ultrafast")
			code, _, stderr := clipmill(args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if !strings.HasPrefix(stderr, "clipmill: ") || !strings.Contains(stderr, c.want) ||
				strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "goroutine") {
				t.Fatalf("stderr %q: want one line containing %q", stderr, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(out, "manifest.json")); err == nil {
				var env clipping.Data[clipping.Job]
				json.Unmarshal(b, &env)
				if env.Data.Status == clipping.JobCompleted || env.Data.FailureMessage == nil {
					t.Fatalf("a failed run left a manifest that says %s", env.Data.Status)
				}
			}
		})
	}
}

// The manifest is the job resource exactly as the API returns it.
func TestManifestShape(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "landscape", sample.Options{Seconds: 50, Width: 640, Height: 360})
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := clipmill("clip", tk.Video, "--transcript", tk.SRT, "--duration", "30,30", "--aspect", "square",
		"--x264-preset", "ultrafast", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	data := raw["data"]
	for _, k := range []string{"id", "status", "title", "input_language", "callback_id", "source_duration", "created_at", "progress", "clips"} {
		if _, ok := data[k]; !ok {
			t.Errorf("job has no %q", k)
		}
	}
	clips := data["clips"].([]any)
	if len(clips) != 2 {
		t.Fatalf("%d clips, want 2 for 30,30", len(clips))
	}
	for _, c := range clips {
		m := c.(map[string]any)
		for _, k := range []string{"id", "status", "title", "duration_seconds", "aspect_ratio", "virality_score", "thumbnail_url",
			"video_url", "failure_message", "duration_type", "start_seconds", "end_seconds", "transcript",
			"captions_srt_url", "captions_vtt_url", "reason", "expires_at", "hashtags"} {
			if _, ok := m[k]; !ok {
				t.Errorf("clip has no %q", k)
			}
		}
		if m["aspect_ratio"] != "square" || strings.Contains(m["video_url"].(string), "/") {
			t.Errorf("clip aspect %v, url %v (want relative to the folder)", m["aspect_ratio"], m["video_url"])
		}
	}
}

// With --speech openai, the audio goes to an OpenAI-compatible endpoint: a
// local fake here, which answers every piece with words spread over it.
func TestClipWithOpenAICompatibleSpeech(t *testing.T) {
	sampletest.EndToEnd(t)
	tk := talk(t, "landscape", sample.Options{Seconds: 50, Width: 640, Height: 360})
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audio/transcriptions" || r.FormValue("response_format") != "verbose_json" || r.FormValue("model") != "whisper-1" {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, `{"error":{"message":"no file"}}`, http.StatusBadRequest)
			return
		}
		n, _ := io.Copy(io.Discard, f)
		secs := float64(n-44) / 32000
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		// One sentence of five words every 2.5 s.
		var words []map[string]any
		text := strings.Fields("Pricing is a monthly experiment.")
		for s := 0.2; s+2.2 < secs; s += 2.5 {
			for k, t := range text {
				words = append(words, map[string]any{"word": " " + t, "start": s + 0.4*float64(k), "end": s + 0.4*float64(k) + 0.35})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"text": "x", "language": "english", "duration": secs, "words": words})
	}))
	defer srv.Close()
	t.Setenv("CLIPMILL_SPEECH_KEY", "sk-test-123")
	dir := filepath.Join(t.TempDir(), "out")
	code, _, stderr := clipmill("clip", tk.Video, "--speech", "openai", "--speech-url", srv.URL, "--duration", "30",
		"--x264-preset", "ultrafast", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	job := readManifest(t, dir)
	checkClips(t, dir, job, 1080, 1920, true)
	if tr := *job.Clips[0].Transcript; !strings.HasPrefix(tr, "Pricing is a monthly experiment.") {
		t.Errorf("transcript %q does not come from the endpoint", tr)
	}
	if job.InputLanguage == nil || *job.InputLanguage != "en" {
		t.Errorf("input_language %v, want en from the endpoint's \"english\"", job.InputLanguage)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) == 0 || auth[0] != "Bearer sk-test-123" {
		t.Errorf("Authorization headers %q", auth)
	}
}
