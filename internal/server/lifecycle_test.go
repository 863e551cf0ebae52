package server

// What outlives a request: webhooks across restarts, files across deletes
// and crashes, and connections of slow clients.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/webhook"
)

// hookReceiver records webhook deliveries and answers with status.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	ids    []string
	bodies [][]byte
	sigs   []string
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	h := &hookReceiver{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.ids = append(h.ids, r.Header.Get(webhook.HeaderDelivery))
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get(webhook.HeaderSignature))
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) answer(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
}

func (h *hookReceiver) seen() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ids)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A webhook still being retried when the server stops is delivered after
// it starts again, with the event id of its first attempt.
func TestWebhookSurvivesRestart(t *testing.T) {
	recv := newHookReceiver(t, http.StatusServiceUnavailable)
	secret := []byte("whsec_restart")
	dir := t.TempDir()
	cfg := func(backoff time.Duration) func(*Config) {
		return func(c *Config) {
			c.WebhookSecret = secret
			c.Guard = netguard.Policy{AllowHosts: []string{strings.TrimPrefix(recv.URL, "http://")}, AllowHTTP: true}
			c.WebhookBackoff, c.WebhookPoll = []time.Duration{backoff, backoff}, 20*time.Millisecond
		}
	}
	s := start(t, dir, cfg(1500*time.Millisecond))
	// A source the guard refuses: the job fails at once, no media tools needed.
	id := createdID(t, s.create(t, `{"video":{"type":"url","url":"https://127.0.0.1/a.mp4"},"callback_url":"`+recv.URL+`/hook","callback_id":"cb-7"}`))
	waitFor(t, "the first attempt", 30*time.Second, func() bool { return recv.seen() == 1 })
	s.stop() // the retry is due in 1.5 s
	stopped := time.Now()

	recv.answer(http.StatusOK)
	start(t, dir, cfg(time.Hour))
	waitFor(t, "the retry after the restart", 10*time.Second, func() bool { return recv.seen() == 2 })
	if d := time.Since(stopped); d < time.Second {
		t.Errorf("the retry came %v after the stop, before its backoff", d)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if recv.ids[0] == "" || recv.ids[1] != recv.ids[0] || !strings.HasPrefix(recv.ids[0], "evt_") {
		t.Errorf("event ids %q: want one, kept across the restart", recv.ids)
	}
	if string(recv.bodies[1]) != string(recv.bodies[0]) {
		t.Errorf("the body changed across the restart:\n%s\n%s", recv.bodies[0], recv.bodies[1])
	}
	if err := webhook.Verify(secret, recv.bodies[1], recv.sigs[1], time.Now(), time.Minute); err != nil {
		t.Errorf("the retry's signature: %v", err)
	}
	if !strings.Contains(string(recv.bodies[1]), `"id":"`+id+`"`) || !strings.Contains(string(recv.bodies[1]), `"callback_id":"cb-7"`) ||
		!strings.Contains(string(recv.bodies[1]), `"event_type":"ai_clipping.fail"`) {
		t.Errorf("body %s", recv.bodies[1])
	}
	// Delivered: nothing is left to send.
	time.Sleep(100 * time.Millisecond)
	if n := len(recv.ids); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

// rowExists looks into the database, as the store's own reader would.
func rowExists(t *testing.T, dir, table, id string) bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "clipmill.db")+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE id = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Deleting a failed job removes its folder; its hidden record is purged a
// day later, not before.
func TestDeletedJobFilesAndRecord(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, nil)
	id := createdID(t, s.create(t, `{"video":{"type":"url","url":"https://127.0.0.1/a.mp4"}}`))
	s.wait(t, id, 30*time.Second, func(j clipping.Job) bool { return j.Status == clipping.JobFailed })
	folder := filepath.Join(dir, "jobs", id)
	os.MkdirAll(folder, 0o755) // a failed job's folder, as the engine may leave it
	os.WriteFile(filepath.Join(folder, "partial.mp4"), []byte("x"), 0o644)
	if r := s.do(t, "DELETE", "/v3/ai-clipping/"+id, nil, "Idempotency-Key", "del-7"); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if exists(folder) {
		t.Error("the deleted job's folder is still there")
	}
	if err := s.purge(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if !rowExists(t, dir, "jobs", id) {
		t.Error("the record was purged at once; a replay may still need it")
	}
	if r := s.do(t, "DELETE", "/v3/ai-clipping/"+id, nil, "Idempotency-Key", "del-7"); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed delete: %d %s", r.status, r.body)
	}
	if err := s.purge(context.Background(), time.Now().Add(keepDeleted+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rowExists(t, dir, "jobs", id) {
		t.Error("the record outlived its day")
	}
}

// A server killed between a delete and its files, or mid-upload, leaves
// files that no visible record owns: the next start removes them, and
// keeps the others.
func TestStartSweepsOrphanFiles(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, func(c *Config) { c.Workers = 0 })
	s.cancel() // no workers: the jobs stay pending
	keep := createdID(t, s.create(t, `{"video":{"type":"url","url":"https://example.com/a.mp4"}}`))
	gone := createdID(t, s.create(t, `{"video":{"type":"url","url":"https://example.com/b.mp4"}}`))
	r := s.do(t, "POST", "/v1/asset", strings.NewReader("bytes"), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	if r.status != 200 || json.Unmarshal(r.body, &asset) != nil {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	goneAsset := s.do(t, "POST", "/v1/asset", strings.NewReader("more bytes"), "Content-Type", "video/mp4")
	var ga clipping.Data[clipping.Asset]
	json.Unmarshal(goneAsset.body, &ga)
	// keep has ended, so no worker of the next start touches its folder.
	if _, err := s.store.UpdateJob(context.Background(), keep, func(j *store.Job) error {
		j.Resource.Status = clipping.JobCompleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// As if killed right after the records were deleted: the files stay.
	if _, err := s.store.DeleteJob(context.Background(), "", gone); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.DeleteAsset(context.Background(), "", ga.Data.AssetID); err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{ // path: kept
		filepath.Join(dir, "jobs", keep, "c1.mp4"):                              true,
		filepath.Join(dir, "jobs", gone, "c1.mp4"):                              false,
		filepath.Join(dir, "jobs", "0123456789abcdef0123456789abcdef", "x.mp4"): false, // purged long ago
		filepath.Join(dir, "assets", ga.Data.AssetID, "upload"):                 false,
		filepath.Join(dir, "assets", asset.Data.AssetID, "upload"):              true,
		filepath.Join(dir, "assets", asset.Data.AssetID, "x.part-123"):          false, // cut-off upload
	}
	for f := range files {
		os.MkdirAll(filepath.Dir(f), 0o755)
		if !exists(f) {
			os.WriteFile(f, []byte("x"), 0o644)
		}
	}
	s.stop()
	start(t, dir, func(c *Config) { c.Workers = 0 })
	for f, kept := range files {
		if exists(f) != kept {
			t.Errorf("%s: exists %v, want %v", f, exists(f), kept)
		}
	}
	if exists(filepath.Join(dir, "jobs", gone)) {
		t.Error("the deleted job's folder is still there")
	}
}

// A client that sends its headers slower than HeaderTimeout is cut off,
// and so is a body that stops for BodyIdle.
func TestSlowClientsAreCut(t *testing.T) {
	s := start(t, t.TempDir(), func(c *Config) {
		c.HeaderTimeout, c.BodyIdle = 300*time.Millisecond, 300*time.Millisecond
	})
	hs := s.HTTPServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	defer hs.Close()

	closedWithin := func(conn net.Conn, d time.Duration) (string, bool) {
		conn.SetReadDeadline(time.Now().Add(d))
		b, err := io.ReadAll(conn)
		var ne net.Error
		return string(b), !(errors.As(err, &ne) && ne.Timeout())
	}
	// Half a request line, then nothing.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	if _, closed := closedWithin(conn, 5*time.Second); !closed || time.Since(start) > 3*time.Second {
		t.Errorf("slow headers: closed %v after %v", closed, time.Since(start))
	}

	// An upload that stops.
	conn2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "POST /v1/asset HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\nContent-Type: video/mp4\r\nContent-Length: 100\r\n\r\n0123", testKey)
	conn2.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatalf("stalled upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || time.Since(start) > 3*time.Second {
		t.Errorf("stalled upload: %d after %v", resp.StatusCode, time.Since(start))
	}
}

// The source of a running job cannot be deleted; once the job is, it can,
// and its files go.
func TestDeleteAssetOfRunningJob(t *testing.T) {
	tk := talk(t)
	s := start(t, t.TempDir(), nil)
	raw, _ := os.ReadFile(tk.Video)
	r := s.do(t, "POST", "/v1/asset", strings.NewReader(string(raw)), "Content-Type", "video/mp4")
	var asset clipping.Data[clipping.Asset]
	json.Unmarshal(r.body, &asset)
	id := createdID(t, s.create(t, `{"video":{"type":"asset_id","asset_id":"`+asset.Data.AssetID+`"}}`))
	s.wait(t, id, time.Minute, func(j clipping.Job) bool { return j.Status == clipping.JobRunning })
	r = s.do(t, "DELETE", "/v3/assets/"+asset.Data.AssetID, nil)
	if r.status != http.StatusConflict || r.err().Code != "request_in_progress" || !strings.Contains(r.err().Message, "has not finished") {
		t.Fatalf("deleting a running job's source: %d %s", r.status, r.body)
	}
	if r := s.do(t, "DELETE", "/v3/ai-clipping/"+id, nil); r.status != 200 {
		t.Fatalf("delete job: %d", r.status)
	}
	if r := s.do(t, "DELETE", "/v3/assets/"+asset.Data.AssetID, nil); r.status != 200 {
		t.Fatalf("delete asset after its job: %d %s", r.status, r.body)
	}
	if exists(filepath.Join(s.dir, "assets", asset.Data.AssetID)) {
		t.Error("the deleted asset's folder is still there")
	}
	waitFor(t, "the cancelled job's folder to go", 30*time.Second, func() bool { return !exists(filepath.Join(s.dir, "jobs", id)) })
}
