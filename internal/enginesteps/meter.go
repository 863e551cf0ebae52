package enginesteps

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"sync/atomic"
	"time"
)

// meter serves the source to ffmpeg on loopback, passing each request
// (with its Range) on to the presigned URL and counting the bytes that come
// back, so a step can say how much of the source it read.
type meter struct {
	target string
	srv    *http.Server
	read   atomic.Int64
}

// serveMetered starts a meter for target and returns the URL to give
// ffmpeg instead; its path ends in the source's name, so that ffmpeg sees
// the same extension.
func serveMetered(target, name string) (*meter, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	m := &meter{target: target}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second,
		// A small send buffer keeps what is fetched close to what ffmpeg
		// reads: the count is the source's bytes that were used.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetWriteBuffer(64 << 10)
			}
			return ctx
		}}
	go m.srv.Serve(ln)
	return m, "http://" + ln.Addr().String() + "/" + url.PathEscape(path.Base(name)), nil
}

var passHeaders = []string{"Content-Length", "Content-Range", "Content-Type", "Accept-Ranges", "Last-Modified", "ETag"}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, m.target, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, h := range []string{"Range", "If-Range"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, "source: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for _, h := range passHeaders {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	n, _ := io.Copy(w, res.Body)
	m.read.Add(n)
}

// Close stops serving and returns the bytes read.
func (m *meter) Close() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
	return m.read.Load()
}
