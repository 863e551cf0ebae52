package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/store"
)

func withOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

func ownerOf(r *http.Request) string {
	o, _ := r.Context().Value(ownerKey{}).(string)
	return o
}

// limiter is a token bucket per owner: rate tokens a second, up to a burst
// of twice the rate.
type limiter struct {
	rate float64
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, now: now, keys: map[string]*bucket{}}
}

// allow takes a token, or says how long until one is free.
func (l *limiter) allow(owner string) (time.Duration, bool) {
	if l.rate <= 0 {
		return 0, true
	}
	// At least one whole token, or a rate under 0.5/s would refuse all.
	burst := math.Max(1, 2*l.rate)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[owner]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.keys[owner] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// Idempotency-Key rules: a repeat within a day replays the first answer;
// a repeat while the first is being handled is a 409. An in-flight record
// not renewed for Config.InFlightTTL belonged to a process that died.
const idempotencyTTL = 24 * time.Hour

// idempotent makes a mutating endpoint honour the Idempotency-Key header,
// scoped per owner, per endpoint and per path parameter. With hashBody, the
// JSON body (capped at MaxJSON) is read first so that a repeat with a
// different body can be noticed.
func (h *handler) idempotent(endpoint string, hashBody bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if hashBody {
			var err error
			if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxJSON)); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					writeError(w, clipping.ErrTooLarge(h.MaxJSON))
					return
				}
				writeError(w, clipping.InvalidParam("body", "The request body could not be read."))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next(w, r)
			return
		}
		if err := clipping.ValidateIdempotencyKey(key); err != nil {
			h.fail(w, r, err)
			return
		}
		scope := ownerOf(r) + "|" + endpoint + "|" + r.PathValue("id") + "|" + key
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])
		rep, err := h.Store.BeginRequest(r.Context(), scope, hash, h.Now(), idempotencyTTL, h.InFlightTTL)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		switch rep.State {
		case store.InFlight:
			writeError(w, clipping.ErrInProgress())
			return
		case store.Done:
			if hashBody && rep.BodyHash != hash {
				h.Log.Warn("idempotent replay with a different body", "endpoint", endpoint)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rep.Status)
			w.Write(rep.Body)
			return
		}
		stop := h.keepAlive(scope)
		bg := context.WithoutCancel(r.Context())
		answered := false
		defer func() {
			stop()
			if !answered { // the handler panicked: free the key at once
				if err := h.Store.AbandonRequest(bg, scope); err != nil {
					h.Log.Error("abandon idempotency key", "err", err)
				}
			}
		}()
		rec := &bufferedWriter{header: http.Header{}}
		next(rec, r)
		answered = true
		stop()
		// A server error, or a request that broke off, is not an answer to
		// remember: the client should be able to retry with the same key.
		forget := rec.header.Get(noReplayHeader) != ""
		rec.header.Del(noReplayHeader)
		if rec.status >= 500 || forget {
			if err := h.Store.AbandonRequest(bg, scope); err != nil {
				h.Log.Error("abandon idempotency key", "err", err)
			}
		} else if err := h.Store.FinishRequest(bg, scope, rec.status, rec.body.Bytes()); err != nil {
			h.Log.Error("store idempotent response", "err", err)
		}
		rec.flush(w)
	}
}

// keepAlive renews an in-flight key while its request is handled, however
// long an upload takes, until stop is called. stop waits for a renewal
// in progress, so none lands after the key is finished.
func (h *handler) keepAlive(scope string) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(h.InFlightTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if err := h.Store.TouchRequest(context.Background(), scope, h.Now()); err != nil {
					h.Log.Warn("renew idempotency key", "err", err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

// noReplayHeader is how a handler tells the idempotency wrapper not to
// remember its answer; it never leaves the server.
const noReplayHeader = "X-Clipmill-No-Replay"

func noReplay(w http.ResponseWriter) { w.Header().Set(noReplayHeader, "1") }

// bufferedWriter holds a small JSON response so it can be stored and then
// sent.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) flush(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
