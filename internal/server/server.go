// Package server wires one clipmill API server: the SQLite store, the worker
// pool that runs the engine, the HTTP handler, the webhook outbox, the
// SSRF-guarded clients for sources and webhooks, the janitor of deleted
// files, and the secrets kept in the data folder. The serve command, the
// embedded pipeline and the tests all start a server this way.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clipmill/clipmill/internal/api"
	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/engine/llm"
	"github.com/clipmill/clipmill/internal/engine/render"
	"github.com/clipmill/clipmill/internal/engine/source"
	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/store/sqlite"
	"github.com/clipmill/clipmill/internal/urlsign"
	"github.com/clipmill/clipmill/internal/webhook"
	"github.com/clipmill/clipmill/internal/worker"
)

// Config is the server's settings.
type Config struct {
	DataDir   string
	PublicURL string   // base of the URLs handed out
	Keys      []string // accepted API keys; none: one is generated and kept in DataDir
	RateLimit float64  // requests per second per key
	MaxUpload int64
	// Workers is how many jobs run at once.
	Workers     int
	JobTimeout  time.Duration
	URLTTL      time.Duration
	Guard       netguard.Policy // who sources and webhooks may reach
	MaxDownload int64
	// DownloadTimeout bounds fetching a source.
	DownloadTimeout time.Duration
	WebhookSecret   []byte // none: one is generated and kept in DataDir
	// WebhookBackoff overrides the waits between webhook attempts (tests);
	// WebhookPoll how often the outbox looks for due ones.
	WebhookBackoff []time.Duration
	WebhookPoll    time.Duration
	// HeaderTimeout is how long a client may take to send its request's
	// headers (HTTPServer); default 10 s.
	HeaderTimeout time.Duration
	// BodyIdle cuts a request body that sends nothing for this long;
	// default 60 s.
	BodyIdle time.Duration
	Encoder  render.Encoder
	// LLM is the optional language model that chooses clips and writes
	// their text; nil: the offline scorer alone. It is the operator's, so
	// it is not held to Guard (it is often on loopback).
	LLM *llm.Client
	Log *slog.Logger
}

// Server is a running (or ready) API server.
type Server struct {
	cfg          Config
	lock         *os.File
	store        *sqlite.Store
	pool         *worker.Pool
	outbox       *webhook.Outbox
	handler      http.Handler
	background   sync.WaitGroup // the outbox and the janitor
	signer       *urlsign.Signer
	GeneratedKey string // the key generated on this start, if one was: print it once
	KeyFile      string // where a generated key is kept
}

// Open prepares the data folder, the store and the handler.
func Open(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	// One server per data folder: the workers take jobs left running to be
	// orphans of a dead process, which a second live process would break.
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, lock: lock, KeyFile: filepath.Join(cfg.DataDir, "api-key")}
	if len(cfg.Keys) == 0 {
		key, generated, err := secretFile(s.KeyFile, "cm_")
		if err != nil {
			lock.Close()
			return nil, err
		}
		s.cfg.Keys = []string{key}
		if generated {
			s.GeneratedKey = key
		}
	}
	urlSecret, _, err := secretFile(filepath.Join(cfg.DataDir, "url-secret"), "")
	if err != nil {
		lock.Close()
		return nil, err
	}
	if len(cfg.WebhookSecret) == 0 {
		ws, _, err := secretFile(filepath.Join(cfg.DataDir, "webhook-secret"), "whsec_")
		if err != nil {
			lock.Close()
			return nil, err
		}
		s.cfg.WebhookSecret = []byte(ws)
	}
	st, err := sqlite.Open(filepath.Join(cfg.DataDir, "clipmill.db"))
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.store = st
	s.signer = &urlsign.Signer{Secret: []byte(urlSecret), TTL: cfg.URLTTL}

	eng := &engine.Engine{
		Encoder:    cfg.Encoder,
		Download:   source.Limits{MaxBytes: cfg.MaxDownload, Timeout: cfg.DownloadTimeout, AllowHTTP: cfg.Guard.AllowHTTP},
		HTTPClient: cfg.Guard.Client(cfg.DownloadTimeout),
		Log:        cfg.Log,
		LLM:        cfg.LLM,
	}
	present := func(j clipping.Job) clipping.Job { return s.signer.Present(j, cfg.PublicURL, time.Now()) }
	s.outbox = &webhook.Outbox{
		Queue:   st,
		Sender:  &webhook.Sender{Client: cfg.Guard.Client(webhookTimeout), Secret: s.cfg.WebhookSecret},
		Backoff: cfg.WebhookBackoff, Lease: 2 * webhookTimeout, Poll: cfg.WebhookPoll, Log: cfg.Log,
	}
	s.pool = &worker.Pool{
		Store: st, Engine: eng, DataDir: cfg.DataDir, Workers: cfg.Workers, JobTimeout: cfg.JobTimeout,
		Webhooks: s.outbox, Present: present, Log: cfg.Log,
	}
	s.handler = api.New(api.Config{
		Store: st, Keys: s.cfg.Keys, RateLimit: cfg.RateLimit, MaxUpload: cfg.MaxUpload,
		DataDir: cfg.DataDir, Files: s.signer, PublicURL: cfg.PublicURL, Runner: s.pool,
		Decode: clipping.Options{AllowHTTP: cfg.Guard.AllowHTTP}, BodyIdle: cfg.BodyIdle, Log: cfg.Log,
	})
	return s, nil
}

// webhookTimeout bounds one webhook attempt.
const webhookTimeout = 30 * time.Second

// Handler is the API.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer is an http.Server for the API with the timeouts that keep
// slow clients from holding connections: the headers must come within
// HeaderTimeout, and the handler cuts a body that stalls for BodyIdle.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cmp.Or(s.cfg.HeaderTimeout, 10*time.Second),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
	}
}

// Start removes the files that deletes left behind, recovers interrupted
// jobs, and starts the workers, the webhook outbox and the janitor until
// ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if err := s.sweep(ctx); err != nil {
		return err
	}
	if err := s.pool.Start(ctx); err != nil {
		return err
	}
	s.background.Go(func() { s.outbox.Run(ctx) })
	s.background.Go(func() { s.purgeEvery(ctx, time.Hour) })
	return nil
}

// Close waits for the workers and the outbox (after Start's ctx ended) and
// closes the store.
func (s *Server) Close() error {
	s.pool.Wait()
	s.background.Wait()
	err := s.store.Close()
	s.lock.Close() // releases the lock
	return err
}

// lockDir takes an exclusive lock on the data folder, or says who has it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data folder %s is in use by another clipmill server", dir)
	}
	return f, nil
}

// secretFile reads a secret kept in a file, or makes one and keeps it
// (readable by the owner only). It reports whether it made it.
func secretFile(path, prefix string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	v := prefix + ids.Hex(24)
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	return v, true, nil
}
