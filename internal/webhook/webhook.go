// Package webhook delivers job events to callback URLs: a JSON POST,
// signed with HMAC-SHA256, from an outbox kept in the store, so that
// deliveries survive restarts and are retried with backoff for a day.
//
// # Request
//
//	POST <callback_url>
//	Content-Type: application/json
//	User-Agent: clipmill-webhook/1
//	X-Clipmill-Event: ai_clipping.success                (or ai_clipping.fail)
//	X-Clipmill-Delivery: evt_3f9c0a1e6b2d4c5e8a7f9b0c1d2e3f4a (the event id)
//	X-Clipmill-Signature: t=1718000000,v1=<64 hex digits>
//
//	{"event_type": "ai_clipping.success", "event_data": {...job...}}
//
// A 2xx answer is success. Network errors, 429 and 5xx are retried (after
// 10 s, 30 s, 1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h and 8 h by
// default: twelve attempts over about 24 hours); other answers, redirects
// included, are final: redirects are not followed. The event id is the
// same on every attempt, also after a restart of the server, so receivers
// can drop duplicates by X-Clipmill-Delivery. Each attempt is signed
// afresh, so t is the time of that attempt.
//
// # Signature
//
// v1 is the lowercase hex HMAC-SHA256, keyed with the shared secret, of
// the bytes
//
//	<t> "." <body>
//
// t being the header's decimal Unix time in seconds and body the raw
// request body exactly as received. To verify a delivery:
//
//  1. split the header on "," and each part at its first "="; read t and
//     every v1 (ignore other keys, kept for future schemes);
//  2. compute the HMAC of t + "." + body and compare it with each v1 in
//     constant time; one must match;
//  3. refuse the delivery if t is further than a tolerance (5 minutes is
//     usual) from your clock: t is signed, so an attacker who captured a
//     delivery cannot replay it later with a fresh t.
//
// Verify does exactly this.
package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/httpx"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/store"
)

// Header names.
const (
	HeaderEvent     = "X-Clipmill-Event"
	HeaderDelivery  = "X-Clipmill-Delivery"
	HeaderSignature = "X-Clipmill-Signature"
)

// DefaultTolerance is the clock difference Verify accepts when given none.
const DefaultTolerance = 5 * time.Minute

// Verify's refusals.
var (
	ErrSignature = errors.New("webhook: invalid signature")
	ErrTimestamp = errors.New("webhook: signature timestamp outside tolerance")
)

// DefaultBackoff is the wait after each failed attempt: twelve attempts
// over about 24 hours, long enough to ride out a receiver's outage of a
// night.
var DefaultBackoff = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour,
}

// Sender makes one signed attempt at a time. It holds no state between
// calls, so one Sender may send many deliveries at once.
type Sender struct {
	Client *http.Client // the guarded client from netguard; required
	Secret []byte       // HMAC key; required
}

// SendError is a failed attempt.
type SendError struct {
	Err        error
	Retry      bool          // a later attempt may succeed
	RetryAfter time.Duration // the receiver's Retry-After, if any
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Send POSTs the delivery's body to its URL once. It returns nil on a 2xx,
// else a *SendError: network errors, 429 and 5xx may be retried; other
// answers, a netguard refusal and a cancelled ctx are final.
func (s *Sender) Send(ctx context.Context, d *store.Delivery) error {
	if s.Client == nil {
		return &SendError{Err: errors.New("webhook: Sender has no Client")}
	}
	if len(s.Secret) == 0 {
		return &SendError{Err: errors.New("webhook: Sender has no Secret")} // an empty HMAC key signs nothing
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return &SendError{Err: httpx.RedactError(err, httpx.Origin)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clipmill-webhook/1")
	req.Header.Set(HeaderEvent, d.EventType)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderSignature, Sign(s.Secret, d.Body, time.Now().Unix()))

	// A 301/302 would turn the POST into a bodiless GET that answers 200
	// and looks delivered; treat redirects as the receiver's error instead.
	client := *s.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		// A refused destination stays refused; a cancelled ctx is final.
		return &SendError{Err: httpx.RedactError(err, httpx.Origin), Retry: !errors.Is(err, netguard.ErrBlocked) && ctx.Err() == nil}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		return &SendError{Err: fmt.Errorf("receiver answered %s", resp.Status), Retry: true,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case code >= 300 && code < 400:
		return &SendError{Err: fmt.Errorf("receiver answered %s (redirects are not followed)", resp.Status)}
	default:
		return &SendError{Err: fmt.Errorf("receiver answered %s", resp.Status)}
	}
}

// Queue is the outbox in the store.
type Queue interface {
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Delivery, error)
	RetryDelivery(ctx context.Context, id string, at time.Time, lastErr string) error
	DeleteDelivery(ctx context.Context, id string) error
}

// Outbox sends the deliveries queued in the store, a few at a time, and
// schedules each failed one's next attempt in the store: a stopped server
// leaves them there, and the next start goes on where it stopped.
type Outbox struct {
	Queue  Queue
	Sender *Sender
	// Backoff lists the waits after each failed attempt; nil means
	// DefaultBackoff. After the last, the delivery is given up.
	Backoff []time.Duration
	// Workers is how many deliveries are sent at once; default 4.
	Workers int
	// Lease is how long a claimed delivery is hidden from other claims:
	// longer than an attempt can take (the client's timeout); default 2
	// minutes. A process that dies mid-attempt is retried after it.
	Lease time.Duration
	// Poll is how often the store is asked for due deliveries; default 1 s.
	Poll time.Duration
	Log  *slog.Logger // nil discards

	once sync.Once
	wake chan struct{}
}

func (o *Outbox) init() {
	o.once.Do(func() { o.wake = make(chan struct{}, 1) })
}

// Notify says a delivery was queued, so it goes out without waiting for
// the next poll.
func (o *Outbox) Notify() {
	o.init()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends deliveries until ctx ends, then waits for the attempts in
// flight to stop. An attempt cut off by ctx is due again at once.
func (o *Outbox) Run(ctx context.Context) {
	o.init()
	workers, lease, poll := cmp.Or(o.Workers, 4), cmp.Or(o.Lease, 2*time.Minute), cmp.Or(o.Poll, time.Second)
	free := make(chan struct{}, workers) // a token per worker
	for range workers {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		// Claim only as many as there are free workers: a claimed delivery
		// waiting for a worker would sit out its lease.
		n := len(free)
		ds, err := o.Queue.ClaimDeliveries(ctx, time.Now(), lease, n)
		if err != nil && ctx.Err() == nil {
			o.log().Error("webhook outbox: claim deliveries", "err", err)
		}
		for _, d := range ds {
			<-free
			wg.Go(func() {
				defer func() { free <- struct{}{}; o.Notify() }()
				o.attempt(ctx, d)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-tick.C:
		}
		if len(free) == 0 { // all busy: wait for one to finish
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
			}
		}
	}
}

func (o *Outbox) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// attempt sends d once and records what comes of it.
func (o *Outbox) attempt(ctx context.Context, d *store.Delivery) {
	log := o.log().With("delivery", d.ID, "job", d.JobID, "event", d.EventType, "url", httpx.Origin(d.URL), "attempt", d.Attempts)
	err := o.Sender.Send(ctx, d)
	bg := context.WithoutCancel(ctx) // the outcome is stored even at shutdown
	switch wait, retry := o.next(d.Attempts, err); {
	case err == nil:
		log.Info("webhook delivered")
		if err := o.Queue.DeleteDelivery(bg, d.ID); err != nil {
			log.Error("webhook outbox: delete delivery", "err", err)
		}
	case ctx.Err() != nil:
		// Stopping: the attempt does not count against the receiver, and
		// the next start sends it at once.
		if err := o.Queue.RetryDelivery(bg, d.ID, time.Now(), "interrupted by shutdown"); err != nil {
			log.Error("webhook outbox: release delivery", "err", err)
		}
	case !retry:
		log.Warn("webhook failed, giving up", "err", err)
		if err := o.Queue.DeleteDelivery(bg, d.ID); err != nil {
			log.Error("webhook outbox: delete delivery", "err", err)
		}
	default:
		log.Warn("webhook attempt failed, will retry", "err", err, "retry_in", wait)
		if err := o.Queue.RetryDelivery(bg, d.ID, time.Now().Add(wait), err.Error()); err != nil {
			log.Error("webhook outbox: schedule retry", "err", err)
		}
	}
}

// next says how long to wait after the attempt-th attempt failed with err,
// and whether to try again at all. A Retry-After may lengthen a wait, up
// to the next backoff step, never shorten it.
func (o *Outbox) next(attempt int, err error) (time.Duration, bool) {
	var se *SendError
	if err == nil || !errors.As(err, &se) || !se.Retry {
		return 0, false
	}
	backoff := o.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	if attempt < 1 || attempt > len(backoff) {
		return 0, false
	}
	wait := backoff[attempt-1]
	if se.RetryAfter > wait {
		limit := wait
		if attempt < len(backoff) {
			limit = backoff[attempt]
		}
		wait = min(se.RetryAfter, limit)
	}
	return wait, true
}

// Sign returns the X-Clipmill-Signature value for body sent at timestamp
// (Unix seconds).
func Sign(secret, body []byte, timestamp int64) string {
	return "t=" + strconv.FormatInt(timestamp, 10) + ",v1=" + hex.EncodeToString(mac(secret, body, timestamp))
}

func mac(secret, body []byte, timestamp int64) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(strconv.AppendInt(nil, timestamp, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks an X-Clipmill-Signature header against the raw body: one
// v1 must be the HMAC of "<t>.<body>" and t must be within tolerance of
// now (DefaultTolerance if tolerance <= 0). It returns an error wrapping
// ErrSignature or ErrTimestamp.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts    int64
		haveT bool
		sigs  [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: bad timestamp %q", ErrSignature, v)
			}
			ts, haveT = n, true
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if !haveT || len(sigs) == 0 {
		return fmt.Errorf("%w: header lacks t or v1", ErrSignature)
	}
	want := mac(secret, body, ts)
	matched := false
	for _, sig := range sigs {
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return ErrSignature
	}
	if age := now.Sub(time.Unix(ts, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %d, %s from now", ErrTimestamp, ts, age.Round(time.Second))
	}
	return nil
}

// retryAfter is the receiver's Retry-After; 0 when it sent none.
func retryAfter(v string) time.Duration {
	d, _ := httpx.RetryAfter(v, time.Now())
	return d
}
