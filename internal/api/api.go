// Package api is clipmill's implementation of HeyGen's AI Clipping API as a
// plain http.Handler, which package server serves on one machine (clipmill
// serve, and clipmill local for its pipeline). Validation comes from package
// clipping, state from a store.Store, and the clipping itself from a Runner.
package api

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/ids"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/urlsign"
)

//go:embed openapi.json
var openAPI []byte

// Runner runs queued jobs.
type Runner interface {
	Notify()          // a job was queued
	Cancel(id string) // stop a job if it is running
}

// Config is everything the handler needs.
type Config struct {
	Store store.Store
	// Keys are the accepted API keys.
	Keys []string
	// RateLimit is requests per second per key, with a burst of twice that;
	// 0 turns limiting off.
	RateLimit float64
	MaxJSON   int64 // bytes; default 1 MB
	MaxUpload int64 // bytes; default 2 GB
	// DataDir holds assets/ and jobs/<id>/ with the clip files.
	DataDir string
	// Files signs and checks the URLs of clip files and assets.
	Files *urlsign.Signer
	// PublicURL is the base of the URLs handed out, e.g. https://clips.example.com.
	PublicURL string
	Runner    Runner
	// Decode relaxes the contract where the operator allows it (http
	// sources for local use).
	Decode clipping.Options
	// BodyIdle cuts a request body (an upload, most of all) that sends
	// nothing for this long; default 60 s.
	BodyIdle time.Duration
	// InFlightTTL is how long an in-flight Idempotency-Key outlives its
	// request's last sign of life (a process that died); the request
	// renews it every third of that. Default 30 s.
	InFlightTTL time.Duration
	// UploadTTL is how long a direct upload's URL works; default 1 hour.
	UploadTTL time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

type handler struct {
	Config
	keys      [][32]byte // SHA-256 of each key, compared in constant time
	limit     *limiter
	mux       *http.ServeMux
	batchMux  *http.ServeMux // see New
	uploading sync.Map       // asset IDs with a PUT in progress
}

// New returns the API handler.
func New(cfg Config) http.Handler {
	if cfg.MaxJSON == 0 {
		cfg.MaxJSON = 1 << 20
	}
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = 2 << 30
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.BodyIdle = cmp.Or(cfg.BodyIdle, time.Minute)
	cfg.InFlightTTL = cmp.Or(cfg.InFlightTTL, 30*time.Second)
	cfg.UploadTTL = cmp.Or(cfg.UploadTTL, time.Hour)
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	h := &handler{Config: cfg, limit: newLimiter(cfg.RateLimit, cfg.Now)}
	for _, k := range cfg.Keys {
		h.keys = append(h.keys, sha256.Sum256([]byte(k)))
	}
	m := http.NewServeMux()
	m.Handle("/v3/ai-clipping", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/ai-clipping", true, h.create)),
		http.MethodGet:  h.authed(h.list),
	}))
	m.Handle("/v3/ai-clipping/{id}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet:    h.authed(h.get),
		http.MethodDelete: h.authed(h.idempotent("DELETE /v3/ai-clipping/{id}", false, h.delete)),
	}))
	m.Handle("/v1/asset", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v1/asset", false, h.uploadRaw)),
	}))
	m.Handle("/v3/assets", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/assets", false, h.uploadForm)),
		http.MethodGet:  h.authed(h.listAssets),
	}))
	m.Handle("/v3/assets/{id}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet:    h.authed(h.getAsset),
		http.MethodDelete: h.authed(h.idempotent("DELETE /v3/assets/{id}", false, h.deleteAsset)),
	}))
	m.Handle("/v3/assets/direct-uploads", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/assets/direct-uploads", true, h.directUpload)),
	}))
	m.Handle("/v3/assets/{id}/complete", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/assets/{id}/complete", true, h.complete)),
	}))
	m.Handle("/v3/assets/direct-uploads/batches", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/assets/direct-uploads/batches", true, h.directUploadBatch)),
	}))
	m.Handle("/v3/assets/complete/batches", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.authed(h.idempotent("POST /v3/assets/complete/batches", true, h.completeBatch)),
	}))
	m.Handle("/uploads/{id}", h.methods(map[string]http.HandlerFunc{http.MethodPut: h.upload}))
	m.Handle("/v3/users/me", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.authed(h.me)}))
	m.Handle("/files/{job}/{name}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet: h.jobFile, http.MethodHead: h.jobFile,
	}))
	m.Handle("/assets/{id}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet: h.assetFile, http.MethodHead: h.assetFile,
	}))
	m.Handle("/openapi.json", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.authed(h.openapi)}))
	m.Handle("/healthz", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.healthz}))
	m.HandleFunc("/", notFound)
	h.mux = m
	// GET /v3/assets/batches/{id} and POST /v3/assets/{id}/complete both
	// match /v3/assets/batches/complete, which ServeMux refuses in one mux:
	// the batches get a mux of their own ("batches" is no asset ID).
	b := http.NewServeMux()
	b.Handle("/v3/assets/batches/{id}", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.authed(h.getBatch)}))
	b.HandleFunc("/", notFound)
	h.batchMux = b
	return h
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, &clipping.Error{Code: clipping.CodeNotFound, Message: "No endpoint " + r.Method + " " + r.URL.Path + "."})
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.Now()
	w.Header().Set("X-Request-Id", ids.New()[:16])
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if body := guardBody(w, r, h.BodyIdle); body != nil {
		defer body.done(r)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The stack goes to the log; the client learns nothing of it.
			h.Log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, clipping.ErrInternal())
			}
		}
		// The query is left out: signed URLs carry their signature there.
		h.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"ms", h.Now().Sub(start).Milliseconds())
	}()
	if strings.HasPrefix(r.URL.Path, "/v3/assets/batches/") {
		h.batchMux.ServeHTTP(rec, r)
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// idleBody cuts a request body that sends nothing for idle: each read
// pushes the connection's read deadline out, so a slow body that keeps
// coming is fine, and one that stops ends in a read error instead of
// holding its goroutine forever.
type idleBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	eof  bool
}

// guardBody wraps r.Body in an idleBody, where the connection allows
// read deadlines (not in tests with a recorder).
func guardBody(w http.ResponseWriter, r *http.Request, idle time.Duration) *idleBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(idle)); err != nil {
		return nil
	}
	b := &idleBody{ReadCloser: r.Body, rc: rc, idle: idle}
	r.Body = b
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.eof {
		// net/http now reads the connection in the background, to notice a
		// client that goes away: that read must not time out while the
		// handler still works on the body it got.
		b.eof = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// done ends the guard when the handler returns, and gives r its own body
// back: net/http tells by its type how much is left unread, and answers
// at once when that is too much to drain. A body left unread keeps its
// deadline: what net/http reads of it must not hang.
func (b *idleBody) done(r *http.Request) {
	r.Body = b.ReadCloser
	if !b.eof {
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// methods dispatches on the method, answering a JSON 405 for any other.
func (h *handler) methods(m map[string]http.HandlerFunc) http.Handler {
	var allowed []string
	for k := range m {
		allowed = append(allowed, k)
	}
	allow := strings.Join(sortStrings(allowed), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := m[r.Method]; ok {
			f(w, r)
			return
		}
		w.Header().Set("Allow", allow)
		writeError(w, clipping.ErrMethodNotAllowed(r.Method, allow))
	})
}

type ownerKey struct{}

// authed checks the API key (x-api-key or a Bearer token) in constant time,
// then the key's rate limit, and passes the key's owner id on.
func (h *handler) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("x-api-key")
		if key == "" {
			if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				key = strings.TrimSpace(a[7:])
			}
		}
		owner, ok := h.owner(key)
		if !ok {
			writeError(w, clipping.ErrAuthentication())
			return
		}
		if wait, ok := h.limit.allow(owner); !ok {
			w.Header().Set("Retry-After", fmt.Sprint(int((wait+time.Second-1)/time.Second)))
			writeError(w, clipping.ErrRateLimited())
			return
		}
		next(w, r.WithContext(withOwner(r.Context(), owner)))
	}
}

// owner maps a key to a stable, non-secret id: jobs, assets and
// idempotency keys belong to it.
func (h *handler) owner(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(key))
	found := 0
	for _, k := range h.keys {
		found |= subtle.ConstantTimeCompare(sum[:], k[:])
	}
	if found != 1 {
		return "", false
	}
	return hex.EncodeToString(sum[:8]), true
}

func (h *handler) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// user is HeyGen's GET /v3/users/me payload: the key's owner, whose ID is
// also the owner of its assets. clipmill keeps no names nor billing.
type user struct {
	Username  string  `json:"username"`
	Email     *string `json:"email"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
}

// me is GET /v3/users/me, what HeyGen's CLI calls to check a key.
func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, clipping.Data[user]{Data: user{Username: ownerOf(r)}})
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, mustJSON(clipping.ErrorBody{Error: clipping.ErrInternal()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func writeError(w http.ResponseWriter, e *clipping.Error) {
	writeJSON(w, clipping.HTTPStatus(e.Code), clipping.ErrorBody{Error: e})
}

// fail answers an unexpected error: logged in full, a bare 500 outside.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if ce, ok := clipping.AsError(err); ok {
		writeError(w, ce)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, clipping.ErrNotFound("AI clipping job"))
		return
	}
	h.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, clipping.ErrInternal())
}
