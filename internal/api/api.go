// Package api is clipmill's implementation of HeyGen's AI Clipping API as a
// plain http.Handler: the same handler serves on one machine (clipmill
// serve) and, wrapped, on AWS Lambda. Validation comes from package
// clipping, state from a store.Store, and the clipping itself from a Runner.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/engine"
	"github.com/clipmill/clipmill/internal/store"
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
	Files *Signer
	// PublicURL is the base of the URLs handed out, e.g. https://clips.example.com.
	PublicURL string
	Runner    Runner
	// Decode relaxes the contract where the operator allows it (http
	// sources for local use).
	Decode clipping.Options
	Log    *slog.Logger
	Now    func() time.Time
}

type handler struct {
	Config
	keys  [][32]byte // SHA-256 of each key, compared in constant time
	limit *limiter
	mux   *http.ServeMux
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
	}))
	m.Handle("/files/{job}/{name}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet: h.jobFile, http.MethodHead: h.jobFile,
	}))
	m.Handle("/assets/{id}", h.methods(map[string]http.HandlerFunc{
		http.MethodGet: h.assetFile, http.MethodHead: h.assetFile,
	}))
	m.Handle("/openapi.json", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.authed(h.openapi)}))
	m.Handle("/healthz", h.methods(map[string]http.HandlerFunc{http.MethodGet: h.healthz}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &clipping.Error{Code: clipping.CodeNotFound, Message: "No endpoint " + r.Method + " " + r.URL.Path + "."})
	})
	h.mux = m
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.Now()
	w.Header().Set("X-Request-Id", engine.NewID()[:16])
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
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
	h.mux.ServeHTTP(rec, r)
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
