package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/store/sqlite"
	"github.com/clipmill/clipmill/internal/urlsign"
)

// The API keys of the test servers.
const (
	key1 = "k1"
	key2 = "k2"
)

// ownerOf is the owner id the handler derives from an API key (the first
// 8 bytes of its SHA-256, in hex); idempotency scopes and stored records
// are keyed by it.
func ownerOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// fakeRunner records what the handler asks of the workers.
type fakeRunner struct {
	mu        sync.Mutex
	notified  int
	cancelled []string
}

func (r *fakeRunner) Notify() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notified++
}

func (r *fakeRunner) Cancel(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = append(r.cancelled, id)
}

func (r *fakeRunner) counts() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notified, slices.Clone(r.cancelled)
}

// clock is a settable time source, so rate limits and orderings do not
// depend on how fast the machine is.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	// A whole second, so times survive the store's microseconds exactly.
	return &clock{now: time.Now().Truncate(time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// errorLog is a slog.Handler that keeps error records: the handler logs
// at error level only for failures of its own (500s, store errors,
// panics), and no test here should cause one.
type errorLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, b.String())
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

// testServer is the API handler on a real loopback listener, over a real
// SQLite store.
type testServer struct {
	*httptest.Server
	Store   *sqlite.Store
	Runner  *fakeRunner
	Clock   *clock
	Signer  *urlsign.Signer
	DataDir string
	Config  api.Config
}

// newServer starts a server; edit changes the config before the handler
// is built.
func newServer(t testing.TB, edit func(*api.Config)) *testServer {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "clipmill.db"))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Store: st, Runner: &fakeRunner{}, Clock: newClock(),
		Signer: &urlsign.Signer{Secret: []byte("s")}, DataDir: t.TempDir()}
	var h http.Handler
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	}))
	logs := &errorLog{}
	ts.Config = api.Config{
		Store: st, Keys: []string{key1, key2}, DataDir: ts.DataDir, Files: ts.Signer,
		PublicURL: ts.URL, Runner: ts.Runner, Now: ts.Clock.Now, Log: slog.New(logs),
	}
	if edit != nil {
		edit(&ts.Config)
	}
	h = api.New(ts.Config)
	t.Cleanup(func() {
		ts.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
		logs.mu.Lock()
		defer logs.mu.Unlock()
		for _, e := range logs.errs {
			t.Errorf("the handler logged an error: %s", e)
		}
	})
	return ts
}

// discardLog is for servers whose logs nobody reads.
func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
