package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/netguard"
)

var secret = []byte("whsec_test")

func TestSignKnownVector(t *testing.T) {
	// The same value from: printf '1718000000.{"event_type":"ai_clipping.success"}' | openssl dgst -sha256 -hmac whsec_test
	got := Sign(secret, []byte(`{"event_type":"ai_clipping.success"}`), 1718000000)
	want := "t=1718000000,v1=473f196a53fd793ae158b7b88a2e53dc38c01e7c74c0b401d9fea23c37f8c27c"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event_type":"ai_clipping.success","event_data":{"id":"j1"}}`)
	now := time.Unix(1718000000, 0)
	h := Sign(secret, body, now.Unix())

	if err := Verify(secret, body, h, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	// A second v1 (a rotated secret) does not hurt, in either order.
	other := strings.TrimPrefix(Sign([]byte("old"), body, now.Unix()), "t=1718000000,")
	if err := Verify(secret, body, "t=1718000000,"+other+","+strings.Split(h, ",")[1], now, 0); err != nil {
		t.Fatalf("two v1: %v", err)
	}

	cases := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{"tampered body", secret, []byte(`{"event_type":"ai_clipping.fail"}`), h, now, ErrSignature},
		{"wrong secret", []byte("nope"), body, h, now, ErrSignature},
		{"no secret", nil, body, h, now, ErrSignature},
		{"tampered timestamp", secret, body, strings.Replace(h, "t=1718000000", "t=1718000100", 1), now, ErrSignature},
		{"old timestamp", secret, body, h, now.Add(6 * time.Minute), ErrTimestamp},
		{"future timestamp", secret, body, h, now.Add(-6 * time.Minute), ErrTimestamp},
		{"empty header", secret, body, "", now, ErrSignature},
		{"no v1", secret, body, "t=1718000000", now, ErrSignature},
		{"no t", secret, body, strings.Split(h, ",")[1], now, ErrSignature},
		{"bad t", secret, body, "t=soon," + strings.Split(h, ",")[1], now, ErrSignature},
		{"bad hex", secret, body, "t=1718000000,v1=zz", now, ErrSignature},
	}
	for _, tc := range cases {
		if err := Verify(tc.secret, tc.body, tc.header, tc.now, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// receiver is a test callback endpoint: it verifies every request and
// answers with the next status in its script (the last one repeats).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	script []func(w http.ResponseWriter)

	mu       sync.Mutex
	times    []time.Time
	ids      []string
	events   []clipping.WebhookEvent
	verified []error
}

func newReceiver(t *testing.T, script ...func(w http.ResponseWriter)) *receiver {
	r := &receiver{t: t, script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func status(code int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	err := Verify(secret, body, req.Header.Get(HeaderSignature), time.Now(), time.Minute)
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("User-Agent") != "clipmill-webhook/1" {
		err = errors.Join(err, errors.New("wrong method or headers: "+req.Method))
	}
	var ev clipping.WebhookEvent
	if jerr := json.Unmarshal(body, &ev); jerr != nil {
		err = errors.Join(err, jerr)
	}
	if ev.EventType != req.Header.Get(HeaderEvent) {
		err = errors.Join(err, errors.New("X-Clipmill-Event does not match the body"))
	}

	r.mu.Lock()
	n := len(r.times)
	r.times = append(r.times, time.Now())
	r.ids = append(r.ids, req.Header.Get(HeaderDelivery))
	r.events = append(r.events, ev)
	r.verified = append(r.verified, err)
	r.mu.Unlock()

	if n >= len(r.script) {
		n = len(r.script) - 1
	}
	r.script[n](w)
}

// check asserts the number of attempts, that each was signed and
// well-formed, and that all carried one delivery id.
func (r *receiver) check(attempts int) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.times) != attempts {
		r.t.Fatalf("receiver saw %d attempts, want %d", len(r.times), attempts)
	}
	for i, err := range r.verified {
		if err != nil {
			r.t.Errorf("attempt %d: %v", i+1, err)
		}
		if r.ids[i] == "" || r.ids[i] != r.ids[0] {
			r.t.Errorf("attempt %d: delivery id %q, first was %q", i+1, r.ids[i], r.ids[0])
		}
	}
}

func (r *receiver) sender(backoff ...time.Duration) *Sender {
	p := netguard.Policy{AllowHosts: []string{r.srv.Listener.Addr().String()}, AllowHTTP: true}
	if backoff == nil {
		backoff = []time.Duration{}
	}
	return &Sender{Client: p.Client(5 * time.Second), Secret: secret, Backoff: backoff}
}

func event() clipping.WebhookEvent {
	return clipping.WebhookEvent{
		EventType: clipping.EventSuccess,
		EventData: clipping.Job{ID: "job_1", Status: clipping.JobCompleted, CallbackID: clipping.Ptr("cb-42"), Progress: 100},
	}
}

func TestDeliver(t *testing.T) {
	r := newReceiver(t, status(http.StatusNoContent))
	if err := r.sender().Deliver(context.Background(), r.srv.URL+"/hook", event()); err != nil {
		t.Fatal(err)
	}
	r.check(1)
	if ev := r.events[0]; ev.EventData.ID != "job_1" || *ev.EventData.CallbackID != "cb-42" {
		t.Errorf("receiver got %+v", ev)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	r := newReceiver(t, status(500), status(503), status(200))
	s := r.sender(time.Millisecond, time.Millisecond, time.Millisecond)
	if err := s.Deliver(context.Background(), r.srv.URL, event()); err != nil {
		t.Fatal(err)
	}
	r.check(3)
}

func TestGivesUp(t *testing.T) {
	r := newReceiver(t, status(502))
	err := r.sender(time.Millisecond, time.Millisecond).Deliver(context.Background(), r.srv.URL, event())
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("got %v, want the last status", err)
	}
	r.check(3)
}

func TestNoRetryOn4xxOrRedirect(t *testing.T) {
	redirect := func(w http.ResponseWriter) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	}
	for _, answer := range []func(http.ResponseWriter){status(400), status(404), redirect} {
		r := newReceiver(t, answer, status(200))
		err := r.sender(time.Millisecond, time.Millisecond).Deliver(context.Background(), r.srv.URL, event())
		if err == nil {
			t.Fatal("got nil, want an error")
		}
		r.check(1)
	}
}

func TestRetryAfter(t *testing.T) {
	tooMany := func(after string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", after)
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}

	// Retry-After: 1 lengthens a 1 ms wait to 1 s (the next step, 5 s, allows it).
	r := newReceiver(t, tooMany("1"), status(200))
	if err := r.sender(time.Millisecond, 5*time.Second).Deliver(context.Background(), r.srv.URL, event()); err != nil {
		t.Fatal(err)
	}
	r.check(2)
	if gap := r.times[1].Sub(r.times[0]); gap < 900*time.Millisecond || gap > 4*time.Second {
		t.Errorf("waited %s, want about 1s", gap)
	}

	// Retry-After: 3600 is capped at the next backoff step, 50 ms.
	r = newReceiver(t, tooMany("3600"), status(200))
	if err := r.sender(time.Millisecond, 50*time.Millisecond).Deliver(context.Background(), r.srv.URL, event()); err != nil {
		t.Fatal(err)
	}
	r.check(2)
	if gap := r.times[1].Sub(r.times[0]); gap < 40*time.Millisecond || gap > 2*time.Second {
		t.Errorf("waited %s, want about 50ms", gap)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		"7":                             7 * time.Second,
		"99999999999999999":             24 * time.Hour, // bounded before multiplying
		"Wed, 01 Jan 2025 00:00:30 GMT": 30 * time.Second,
		"Tue, 31 Dec 2024 23:00:00 GMT": 0,
		"soon":                          0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("%q: got %s, want %s", v, got, want)
		}
	}
}

func TestCancelStopsRetries(t *testing.T) {
	r := newReceiver(t, status(500))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			r.mu.Lock()
			n := len(r.times)
			r.mu.Unlock()
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := time.Now()
	err := r.sender(time.Hour).Deliver(ctx, r.srv.URL, event())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to stop", d)
	}
	r.check(1)
}

func TestNetworkErrorRetried(t *testing.T) {
	hangUp := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	r := newReceiver(t, hangUp, status(200))
	if err := r.sender(time.Millisecond).Deliver(context.Background(), r.srv.URL, event()); err != nil {
		t.Fatal(err)
	}
	r.check(2)
}

func TestBlockedNotRetried(t *testing.T) {
	r := newReceiver(t, status(200))
	s := r.sender(time.Millisecond, time.Millisecond)
	s.Client = netguard.Policy{AllowHTTP: true}.Client(5 * time.Second) // 127.0.0.1 not allowed
	err := s.Deliver(context.Background(), r.srv.URL, event())
	if !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("got %v, want ErrBlocked", err)
	}
	r.check(0)
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	r := newReceiver(t, status(500))
	var logs bytes.Buffer
	s := r.sender(time.Millisecond)
	s.Log = slog.New(slog.NewTextHandler(&logs, nil))
	err := s.Deliver(context.Background(), r.srv.URL+"/hooks/T0KENPATH?token=s3cr3tquery", event())
	if err == nil {
		t.Fatal("want an error")
	}
	// A network error's text (*url.Error) carries the URL too.
	s.Client = netguard.Policy{AllowHosts: []string{"127.0.0.1:1"}, AllowHTTP: true}.Client(5 * time.Second)
	err2 := s.Deliver(context.Background(), "http://127.0.0.1:1/hooks/T0KENPATH?token=s3cr3tquery", event())
	if err2 == nil {
		t.Fatal("want an error from a closed port")
	}
	all := logs.String() + err.Error() + err2.Error()
	for _, leak := range []string{"s3cr3tquery", "T0KENPATH", string(secret)} {
		if strings.Contains(all, leak) {
			t.Errorf("%q leaked into:\n%s", leak, all)
		}
	}
	if !strings.Contains(logs.String(), "retry") {
		t.Errorf("expected retry logs, got:\n%s", logs.String())
	}
}

func TestSenderNeedsClientAndSecret(t *testing.T) {
	if err := (&Sender{Secret: secret}).Deliver(context.Background(), "https://example.com/", event()); err == nil {
		t.Error("no client: want an error")
	}
	if err := (&Sender{Client: http.DefaultClient}).Deliver(context.Background(), "https://example.com/", event()); err == nil {
		t.Error("no secret: want an error")
	}
}
