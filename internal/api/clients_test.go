package api_test

// Slow and broken clients: bodies that stall, uploads longer than an
// in-flight key's life, and handlers that die.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/store/sqlite"
	"github.com/clipmill/clipmill/internal/urlsign"
)

// trickle sends a raw HTTP/1.1 request whose body comes in pieces, every
// gap apart, and returns the status line and the time the answer took.
func trickle(t *testing.T, addr, head string, pieces []string, gap time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	for _, p := range pieces {
		select {
		case line := <-answer: // answered before the body was all sent
			return line, time.Since(start)
		case <-time.After(gap):
		}
		io.WriteString(conn, p)
	}
	select {
	case line := <-answer:
		return line, time.Since(start)
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
		return "", 0
	}
}

func uploadHead(ts *testServer, length int, key string) string {
	return fmt.Sprintf("POST /v1/asset HTTP/1.1\r\nHost: %s\r\nx-api-key: %s\r\nContent-Type: video/mp4\r\nContent-Length: %d\r\nIdempotency-Key: %s\r\n\r\n",
		ts.Listener.Addr(), key1, length, key)
}

// An upload that stops sending is cut after BodyIdle, and its key freed
// for the retry; one that keeps sending, however slowly, is not.
func TestStalledUploadIsCut(t *testing.T) {
	const idle = 300 * time.Millisecond
	ts := newServer(t, func(c *api.Config) { c.BodyIdle = idle })
	addr := ts.Listener.Addr().String()

	// 20 bytes promised, 5 sent, then silence.
	line, took := trickle(t, addr, uploadHead(ts, 20, "stall-1")+"01234", nil, 0)
	if !strings.Contains(line, " 400 ") || took < idle || took > idle+5*time.Second {
		t.Fatalf("stalled upload: %q after %v", line, took)
	}
	// The answer says why, and is not kept under the key: a retry runs.
	req := ts.request(t, "POST", "/v1/asset", strings.NewReader("0123456789"), "x-api-key", key1,
		"Content-Type", "video/mp4", "Idempotency-Key", "stall-1")
	resp, body := newChecker(t).do(t, ts.Client(), req)
	wantStatus(t, resp, body, http.StatusOK)
	if resp.Header.Get("Idempotent-Replayed") != "" {
		t.Error("the stalled upload's answer was replayed")
	}

	// 12 pieces 100 ms apart: 1.2 s in all, but never idle for 300 ms.
	pieces := slices.Repeat([]string{"ab"}, 12)
	line, took = trickle(t, addr, uploadHead(ts, 24, "slow-1"), pieces, 100*time.Millisecond)
	if !strings.Contains(line, " 200 ") || took < 1200*time.Millisecond {
		t.Fatalf("slow, steady upload: %q after %v", line, took)
	}
}

// The message of a stalled upload names the stall.
func TestStalledUploadMessage(t *testing.T) {
	ts := newServer(t, func(c *api.Config) { c.BodyIdle = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, uploadHead(ts, 20, "stall-2")+"01234")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	e := decodeAs[clipping.ErrorBody](t, body).Error
	if resp.StatusCode != 400 || e == nil || !strings.Contains(e.Message, "The upload stalled: nothing came for 200ms after 5 bytes") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// An in-flight Idempotency-Key lives as long as its request, however far
// past InFlightTTL: every repeat meanwhile is a 409, never a second upload.
func TestInFlightKeyKeptAliveByItsRequest(t *testing.T) {
	const ttl = 300 * time.Millisecond
	ts := newServer(t, func(c *api.Config) { c.InFlightTTL, c.Now = ttl, time.Now })
	pr, pw := io.Pipe()
	defer pw.Close() // also when the test fails midway
	done := make(chan int, 1)
	go func() {
		req := ts.request(t, "POST", "/v1/asset", pr, "x-api-key", key1, "Content-Type", "video/mp4", "Idempotency-Key", "long-1")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	pw.Write([]byte(strings.Repeat("x", 8000))) // more than the client buffers
	waitForAnyPart(t, ts)
	start := time.Now()
	end := start.Add(4 * ttl)
	repeats, lastAt := 0, time.Duration(0)
	for time.Now().Before(end) {
		resp, body := newChecker(t).call(t, ts, "POST", "/v1/asset", "y", "x-api-key", key1, "Content-Type", "video/mp4", "Idempotency-Key", "long-1")
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("%v into the upload, a repeat got %d %s", time.Until(end)-4*ttl, resp.StatusCode, body)
		}
		repeats, lastAt = repeats+1, time.Since(start)
		pw.Write([]byte("x"))
		time.Sleep(ttl / 5)
	}
	pw.Close()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("the long upload: %d", code)
	}
	// What counts is a 409 long after the TTL would have freed the key,
	// not how many repeats a loaded machine fits in.
	if repeats < 3 || lastAt < 2*ttl {
		t.Fatalf("%d repeats, the last %v into the upload: want 3 or more, the last after %v", repeats, lastAt, 2*ttl)
	}
}

// A key whose request dies (the client hangs up mid-body) is free at once.
func TestInFlightKeyReleasedWhenClientHangsUp(t *testing.T) {
	ts := newServer(t, func(c *api.Config) { c.InFlightTTL = time.Hour })
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, uploadHead(ts, 100000, "hangup-1")+strings.Repeat("x", 5000))
	waitForAnyPart(t, ts)
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := newChecker(t).call(t, ts, "POST", "/v1/asset", "whole", "x-api-key", key1,
			"Content-Type", "video/mp4", "Idempotency-Key", "hangup-1")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("after the client hung up: %d %s", resp.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond) // the server is noticing
	}
}

func waitForAnyPart(t *testing.T, ts *testServer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if parts, _ := filepath.Glob(filepath.Join(ts.DataDir, "assets", "*", "*.part-*")); len(parts) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// panicStore's CreateJob panics, as a bug would.
type panicStore struct{ *sqlite.Store }

func (panicStore) CreateJob(context.Context, *store.Job) error { panic("a bug") }

// A handler that panics answers a bare 500 and frees its key at once.
func TestPanicReleasesKey(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "clipmill.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := api.New(api.Config{Store: panicStore{st}, Keys: []string{key1}, DataDir: t.TempDir(), Files: &urlsign.Signer{Secret: []byte("s")},
		Log: discardLog(), InFlightTTL: time.Hour})
	req := httptest.NewRequest("POST", "/v3/ai-clipping", strings.NewReader(validBody))
	req.Header.Set("x-api-key", key1)
	req.Header.Set("Idempotency-Key", "bug-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "a bug") {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
	scope := ownerOf(key1) + "|POST /v3/ai-clipping||bug-1"
	if r, err := st.BeginRequest(t.Context(), scope, "", time.Now(), 24*time.Hour, time.Hour); err != nil || r.State != store.Started {
		t.Fatalf("the key after the panic: %+v, %v; want it free", r, err)
	}
}

// Deleting a job removes its folder, whatever its state; the runner is
// asked to stop only a job that has not ended.
func TestDeleteRemovesJobFiles(t *testing.T) {
	ts := newServer(t, nil)
	c := newChecker(t)
	for _, st := range []clipping.JobStatus{clipping.JobCompleted, clipping.JobFailed, clipping.JobPending, clipping.JobRunning} {
		id := c.create(t, ts, key1, validBody)
		dir := filepath.Join(ts.DataDir, "jobs", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"c1.mp4", "c1.jpg", "c1.srt", "c1.vtt"} {
			os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
		}
		if _, err := ts.Store.UpdateJob(t.Context(), id, func(j *store.Job) error { j.Resource.Status = st; return nil }); err != nil {
			t.Fatal(err)
		}
		resp, body := c.call(t, ts, "DELETE", "/v3/ai-clipping/"+id, "", "x-api-key", key1)
		wantStatus(t, resp, body, http.StatusOK)
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s job: its folder after the delete: %v", st, err)
		}
		_, cancelled := ts.Runner.counts()
		if got, want := slices.Contains(cancelled, id), !st.Terminal(); got != want {
			t.Errorf("%s job: cancelled %v, want %v", st, got, want)
		}
	}
}

// A PUT whose Content-Length is over the declared size is refused before
// its body is read: the client learns at once, not after sending it all.
func TestOversizedPutRefusedBeforeItsBody(t *testing.T) {
	ts := newServer(t, nil)
	slot := declare(t, newChecker(t), ts, key1, `{"filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 4}`)
	u, err := url.Parse(slot.UploadURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", u.RequestURI())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
