// Package webhook delivers job events to callback URLs: a JSON POST,
// signed with HMAC-SHA256, retried with backoff.
//
// # Request
//
//	POST <callback_url>
//	Content-Type: application/json
//	User-Agent: clipmill-webhook/1
//	X-Clipmill-Event: ai_clipping.success            (or ai_clipping.fail)
//	X-Clipmill-Delivery: 5KQ3M2ZB7XH4TJ6N2WQ8CDVRFA    (the same on every retry)
//	X-Clipmill-Signature: t=1718000000,v1=<64 hex digits>
//
//	{"event_type": "ai_clipping.success", "event_data": {...job...}}
//
// A 2xx answer is success. Network errors, 429 and 5xx are retried (after
// 1 s, 5 s, 30 s, 2 min and 10 min by default); other answers, redirects
// included, are final: redirects are not followed. Each attempt is signed
// afresh, so t is the time of that attempt; receivers can drop duplicates
// by X-Clipmill-Delivery.
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
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/clock"
	"github.com/clipmill/clipmill/internal/netguard"
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

// defaultBackoff is the wait before each retry: five retries over about
// 13 minutes, long enough to ride out a receiver's restart or deploy.
var defaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// Sender delivers events. It holds no state between calls, so one Sender
// may deliver many events at once.
type Sender struct {
	Client *http.Client // the guarded client from netguard; required
	Secret []byte       // HMAC key; required
	// Backoff lists the waits between attempts; nil means 1s, 5s, 30s,
	// 2m, 10m. An empty, non-nil slice means a single attempt.
	Backoff []time.Duration
	Log     *slog.Logger // nil discards
}

// Deliver POSTs the event as JSON to rawURL. It retries on network errors,
// 429 and 5xx, not on other answers nor on a netguard refusal. A
// Retry-After may lengthen a wait, up to the next backoff step, never
// shorten it. It returns nil on a 2xx, or the last attempt's error. ctx
// cancels the request in flight and the waiting.
func (s *Sender) Deliver(ctx context.Context, rawURL string, event clipping.WebhookEvent) error {
	if s.Client == nil {
		return errors.New("webhook: Sender has no Client")
	}
	if len(s.Secret) == 0 {
		return errors.New("webhook: Sender has no Secret") // an empty HMAC key signs nothing
	}
	body, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("webhook: encode event: %w", err)
	}
	backoff := s.Backoff
	if backoff == nil {
		backoff = defaultBackoff
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := rand.Text()
	log = log.With("delivery", id, "event", event.EventType, "url", redact(rawURL))

	// A 301/302 would turn the POST into a bodiless GET that answers 200
	// and looks delivered; treat redirects as the receiver's error instead.
	client := *s.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for attempt := 1; ; attempt++ {
		retry, retryAfter, err := s.send(ctx, &client, rawURL, id, event.EventType, body)
		if err == nil {
			log.Info("webhook delivered", "attempt", attempt)
			return nil
		}
		if !retry || attempt > len(backoff) {
			log.Warn("webhook failed, giving up", "attempt", attempt, "err", err)
			return fmt.Errorf("webhook: delivery %s failed after %d attempt(s): %w", id, attempt, err)
		}
		wait := backoff[attempt-1]
		if retryAfter > wait {
			limit := wait
			if attempt < len(backoff) {
				limit = backoff[attempt]
			}
			wait = min(retryAfter, limit)
		}
		log.Warn("webhook attempt failed, will retry", "attempt", attempt, "err", err, "retry_in", wait)
		if clock.Sleep(ctx, wait) != nil {
			return fmt.Errorf("webhook: delivery %s abandoned after %d attempt(s): %w (last error: %v)", id, attempt, context.Cause(ctx), err)
		}
	}
}

// send makes one attempt. It reports whether a retry may help and how long
// the receiver asked us to wait.
func (s *Sender) send(ctx context.Context, c *http.Client, rawURL, id, eventType string, body []byte) (retry bool, retryAfter time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return false, 0, redactErr(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clipmill-webhook/1")
	req.Header.Set(HeaderEvent, eventType)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderSignature, Sign(s.Secret, body, time.Now().Unix()))

	resp, err := c.Do(req)
	if err != nil {
		// A refused destination stays refused; a cancelled ctx is final.
		return !errors.Is(err, netguard.ErrBlocked) && ctx.Err() == nil, 0, redactErr(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return false, 0, nil
	case code == http.StatusTooManyRequests || code >= 500:
		return true, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("receiver answered %s", resp.Status)
	case code >= 300 && code < 400:
		return false, 0, fmt.Errorf("receiver answered %s (redirects are not followed)", resp.Status)
	default:
		return false, 0, fmt.Errorf("receiver answered %s", resp.Status)
	}
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 if absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 86400)) * time.Second // a day bounds the multiplication; the backoff caps it anyway
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact keeps the scheme and host of a callback URL for logs and errors:
// the query, and for many services (Slack, Discord) the path, hold tokens.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "(unparseable URL)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// redactErr rewrites the URL net/http puts into its errors.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	return err
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
