package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/sample"
	"github.com/clipmill/clipmill/internal/sample/sampletest"
)

// A plan's clip renders from a source on the web (on AWS, a presigned S3
// URL) by reading only the part it needs, with HTTP ranges, not the whole
// file.
func TestRenderReadsOnlyWhatItNeeds(t *testing.T) {
	sampletest.EndToEnd(t)
	ctx := context.Background()
	tk := sampletest.Talk(t, sample.Options{Seconds: 150, Width: 640, Height: 360})
	e := &Engine{Encoder: render.Encoder{Preset: "ultrafast"}}
	s := clipping.DefaultOutputSettings()
	s.DurationTypes = []clipping.DurationType{clipping.Duration30}
	pl, err := e.Plan(ctx, Job{Input: tk.Video, Settings: s, Transcript: load(t, tk.SRT), OutDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(tk.Video)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		http.ServeContent(countingWriter{w, &served}, r, "talk.mp4", time.Time{}, f)
	}))
	// Small send buffers, so that what is counted is close to what ffmpeg
	// reads before it closes a connection.
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	pl.Source = srv.URL + "/talk.mp4"
	// A clip from the middle of the source.
	pl.Clips[0].Start, pl.Clips[0].End, pl.Clips[0].Words = 90, 120, nil
	out := t.TempDir()
	res, err := e.Render(ctx, pl, out, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, res.Clips[0].Video)); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(tk.Video)
	c := pl.Clips[0]
	t.Logf("a %.0f s clip of a %.0f s source read %d of %d bytes (%.0f%%)", c.End-c.Start, pl.Info.Duration,
		served.Load(), st.Size(), 100*float64(served.Load())/float64(st.Size()))
	// The clip's part of the source, read once: its share of the file, and
	// a keyframe interval (4 s) before it, with some slack.
	if want := float64(st.Size()) * (c.End - c.Start + 4) / pl.Info.Duration * 1.5; float64(served.Load()) > want {
		t.Errorf("read %d of %d bytes, want at most %.0f: more than the clip's part, once", served.Load(), st.Size(), want)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}
