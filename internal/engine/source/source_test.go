package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/engine/ffmpeg"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
}

// makeMedia encodes a few seconds of test pattern (and tone) with extra
// ffmpeg output arguments.
func makeMedia(t *testing.T, name string, secs int, audio bool, extra ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	args := []string{"-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=320x240:r=25:d=%d", secs)}
	if audio {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("sine=f=440:d=%d", secs))
	}
	args = append(args, extra...)
	args = append(args, p)
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, args...); err != nil {
		t.Fatal(err)
	}
	return p
}

func truncate(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cut-"+filepath.Base(p))
	if err := os.WriteFile(out, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProbeGoodFile(t *testing.T) {
	needFFmpeg(t)
	p := makeMedia(t, "talk.mp4", 4, true, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-metadata", "title=My Talk")
	info, err := Probe(context.Background(), ffmpeg.Binaries{}, "talk.mp4", p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 320 || info.Height != 240 || !info.HasAudio || info.Title != "My Talk" ||
		info.Duration < 3.9 || info.Duration > 4.2 || info.FPS != 25 {
		t.Fatalf("info = %+v", info)
	}
	silent := makeMedia(t, "silent.mkv", 3, false, "-c:v", "libx264", "-preset", "ultrafast")
	info, err = Probe(context.Background(), ffmpeg.Binaries{}, "silent.mkv", silent)
	if err != nil {
		t.Fatal(err)
	}
	if info.HasAudio || info.Title != "silent" {
		t.Fatalf("info = %+v, want no audio and the file name as title", info)
	}
}

// Each bad input gets one clear line that names the file and the problem.
func TestProbeRefusesBadFiles(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	os.WriteFile(text, []byte("this is not a video, just some text\n"), 0o644)
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	// ffprobe reads a .txt file of some length as ANSI art: a "video" of a
	// fraction of a second, once reported as too short to clip.
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte(strings.Repeat("Meeting notes: ship the clipping tool on Friday.\n", 30)), 0o644)
	tiny := filepath.Join(dir, "tiny.txt")
	os.WriteFile(tiny, []byte("hi"), 0o644)
	blob := filepath.Join(dir, "blob.bin")
	os.WriteFile(blob, []byte{0x00, 0x01, 0xfe, 0xff, 0x42}, 0o644)
	srt := filepath.Join(dir, "talk.srt")
	os.WriteFile(srt, []byte("1\n00:00:01,000 --> 00:00:02,000\nHello.\n"), 0o644)
	png := filepath.Join(dir, "cover.png")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64", "-frames:v", "1", png); err != nil {
		t.Fatal(err)
	}
	mp3 := filepath.Join(dir, "song.mp3")
	if err := (ffmpeg.Binaries{}).Run(context.Background(), time.Minute, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=2", mp3); err != nil {
		t.Fatal(err)
	}
	front := makeMedia(t, "front.mp4", 8, true, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart")
	back := makeMedia(t, "back.mp4", 8, true, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	short := makeMedia(t, "short.mp4", 1, false, "-c:v", "libx264", "-frames:v", "5")

	cases := []struct {
		name, path, want string
	}{
		{"text", text, "is not a media file"},
		{"text named .txt", notes, "is not a media file"},
		{"tiny text", tiny, "is not a media file"},
		{"a few bytes", blob, "is not a media file"},
		{"subtitles", srt, "is not a media file"},
		{"image", png, "is a still image, not a video"},
		{"empty", empty, "is empty (0 bytes)"},
		{"audio only", mp3, "has no video stream (it is audio only)"},
		{"truncated, index at front", truncate(t, front), "is truncated"},
		{"truncated, index at back", truncate(t, back), "is truncated"},
		{"too short", short, "too short"},
		{"missing", filepath.Join(dir, "nope.mp4"), "cannot read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Probe(context.Background(), ffmpeg.Binaries{}, "in/"+filepath.Base(c.path), c.path)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *source.Error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "in/"+filepath.Base(c.path)+": ") || strings.Contains(msg, "\n") {
				t.Fatalf("err = %q, want one line naming the file and containing %q", msg, c.want)
			}
		})
	}
}

func TestParseProbeRotation(t *testing.T) {
	// A phone video: stored landscape, displayed portrait.
	j := `{"streams":[{"codec_type":"video","width":1920,"height":1080,"avg_frame_rate":"30000/1001",
	"side_data_list":[{"rotation":-90}]},{"codec_type":"audio"}],"format":{"duration":"12.5"}}`
	info, err := parseProbe([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 1080 || info.Height != 1920 || !info.HasAudio || info.Duration != 12.5 || info.FPS < 29.9 || info.FPS > 30 {
		t.Fatalf("info = %+v", info)
	}
	// Non-square pixels: 1440x1080 at 4:3 is shown 1920x1080.
	j = `{"streams":[{"codec_type":"video","width":1440,"height":1080,"sample_aspect_ratio":"4:3","avg_frame_rate":"25/1"}],"format":{"duration":"5"}}`
	if info, err := parseProbe([]byte(j)); err != nil || info.Width != 1920 || info.Height != 1080 || info.SAR < 1.33 || info.SAR > 1.34 {
		t.Fatalf("anamorphic: %+v %v", info, err)
	}
	// Cover art is not a video stream.
	j = `{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],"format":{"duration":"100"}}`
	if _, err := parseProbe([]byte(j)); err == nil || !strings.Contains(err.Error(), "audio only") {
		t.Fatalf("err = %v, want audio only", err)
	}
}

// What ffprobe 5.1 reports for a text file named .txt: a 0.2 s video.
func TestParseProbeRefusesText(t *testing.T) {
	j := `{"streams":[{"codec_name":"ansi","codec_type":"video","width":640,"height":400,"avg_frame_rate":"25/1","duration":"0.200000"}],
	"format":{"format_name":"tty","duration":"0.200000","probe_score":99}}`
	if _, err := parseProbe([]byte(j)); err == nil || !strings.Contains(err.Error(), "is not a media file") {
		t.Fatalf("err = %v, want not a media file", err)
	}
}

func TestFetch(t *testing.T) {
	body := strings.Repeat("x", 1000)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/talk.mp4":
			w.Write([]byte(body))
		case "/slow.mp4":
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	dir := t.TempDir()

	p, err := Fetch(ctx, srv.URL+"/talk.mp4?X-Amz-Signature=secret", dir, Limits{MaxBytes: 2000}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != body || filepath.Ext(p) != ".mp4" {
		t.Fatalf("downloaded %d bytes to %s", len(b), p)
	}

	for _, c := range []struct {
		url  string
		lim  Limits
		want string
	}{
		{srv.URL + "/talk.mp4?sig=secret", Limits{MaxBytes: 500}, "over the limit"},
		{srv.URL + "/missing.mp4?sig=secret", Limits{}, "HTTP 404"},
		{srv.URL + "/slow.mp4?sig=secret", Limits{Timeout: 200 * time.Millisecond}, "timed out"},
		{strings.Replace(srv.URL, "https", "http", 1) + "/talk.mp4", Limits{}, "only https"},
		{"ftp://example.com/a.mp4", Limits{}, "only https"},
	} {
		_, err := Fetch(ctx, c.url, dir, c.lim, srv.Client())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Fetch(%s) = %v, want %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q leaks the URL's query", err)
		}
	}
	if _, err := Fetch(ctx, dir, dir, Limits{}, nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Fetch(dir) = %v", err)
	}
}
