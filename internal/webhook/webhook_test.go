package webhook

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/netguard"
	"github.com/clipmill/clipmill/internal/store"
	"github.com/clipmill/clipmill/internal/store/sqlite"
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
// well-formed, and that all carried one event id.
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

func (r *receiver) sender() *Sender {
	p := netguard.Policy{AllowHosts: []string{r.srv.Listener.Addr().String()}, AllowHTTP: true}
	return &Sender{Client: p.Client(5 * time.Second), Secret: secret}
}

func (r *receiver) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

// testStore is an outbox in a SQLite file.
type testStore struct {
	*sqlite.Store
	path string
}

func newStore(t *testing.T) *testStore {
	path := filepath.Join(t.TempDir(), "clipmill.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &testStore{st, path}
}

// queue adds a delivery of event() to url, due now, as the worker does.
func (st *testStore) queue(t *testing.T, id, url string) {
	t.Helper()
	body, _ := json.Marshal(event())
	job := &store.Job{ID: "job-" + id, Resource: clipping.Job{ID: "job-" + id, Status: clipping.JobRunning}}
	if err := st.CreateJob(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	_, err := st.UpdateJobNotify(t.Context(), job.ID, func(j *store.Job) (*store.Delivery, error) {
		j.Resource.Status = clipping.JobCompleted
		return &store.Delivery{ID: id, JobID: j.ID, URL: url, EventType: clipping.EventSuccess, Body: body,
			NextAt: time.Now(), CreatedAt: time.Now()}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// row is a delivery as stored, read without claiming it.
type row struct {
	attempts  int
	nextAt    time.Time
	lastError string
}

func (st *testStore) rows(t *testing.T) map[string]row {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+st.path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT id, attempts, next_at, last_error FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]row{}
	for rs.Next() {
		var (
			id string
			r  row
			us int64
		)
		if err := rs.Scan(&id, &r.attempts, &us, &r.lastError); err != nil {
			t.Fatal(err)
		}
		r.nextAt = time.UnixMicro(us)
		out[id] = r
	}
	return out
}

// settle waits until the outbox is empty.
func (st *testStore) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(st.rows(t)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox did not empty: %v", st.rows(t))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runningOutbox is an Outbox running until stop or the end of the test.
type runningOutbox struct {
	*Outbox
	cancel context.CancelFunc
	done   chan struct{}
}

func (o *runningOutbox) stop() {
	o.cancel()
	<-o.done
}

func runOutbox(t *testing.T, st *testStore, s *Sender, log *slog.Logger, backoff ...time.Duration) *runningOutbox {
	if backoff == nil {
		backoff = []time.Duration{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &runningOutbox{Outbox: &Outbox{Queue: st, Sender: s, Backoff: backoff, Poll: 5 * time.Millisecond, Log: log},
		cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.Run(ctx)
	}()
	t.Cleanup(o.stop)
	return o
}

func event() clipping.WebhookEvent {
	return clipping.WebhookEvent{
		EventType: clipping.EventSuccess,
		EventData: clipping.Job{ID: "job_1", Status: clipping.JobCompleted, CallbackID: clipping.Ptr("cb-42"), Progress: 100},
	}
}

func TestDeliver(t *testing.T) {
	r := newReceiver(t, status(http.StatusNoContent))
	st := newStore(t)
	st.queue(t, "evt_1", r.srv.URL+"/hook")
	runOutbox(t, st, r.sender(), nil)
	st.settle(t)
	r.check(1)
	if ev := r.events[0]; ev.EventData.ID != "job_1" || *ev.EventData.CallbackID != "cb-42" || r.ids[0] != "evt_1" {
		t.Errorf("receiver got %+v with id %q", ev, r.ids[0])
	}
}

func TestRetryThenSuccess(t *testing.T) {
	r := newReceiver(t, status(500), status(503), status(200))
	st := newStore(t)
	st.queue(t, "evt_1", r.srv.URL)
	runOutbox(t, st, r.sender(), nil, time.Millisecond, time.Millisecond, time.Millisecond)
	st.settle(t)
	r.check(3)
}

func TestGivesUp(t *testing.T) {
	r := newReceiver(t, status(502))
	st := newStore(t)
	var logs syncBuffer
	st.queue(t, "evt_1", r.srv.URL)
	runOutbox(t, st, r.sender(), slog.New(slog.NewTextHandler(&logs, nil)), time.Millisecond, time.Millisecond)
	st.settle(t)
	r.check(3)
	if !strings.Contains(logs.String(), "giving up") || !strings.Contains(logs.String(), "502") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestNoRetryOn4xxOrRedirect(t *testing.T) {
	redirect := func(w http.ResponseWriter) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	}
	for _, answer := range []func(http.ResponseWriter){status(400), status(404), redirect} {
		r := newReceiver(t, answer, status(200))
		st := newStore(t)
		st.queue(t, "evt_1", r.srv.URL)
		runOutbox(t, st, r.sender(), nil, time.Millisecond, time.Millisecond)
		st.settle(t)
		r.check(1)
	}
}

// next's waits: the backoff, lengthened by Retry-After up to the next
// step; nothing after the last step or a final answer.
func TestNextWait(t *testing.T) {
	o := &Outbox{Backoff: []time.Duration{time.Millisecond, 5 * time.Second}}
	retry := func(after time.Duration) error {
		return &SendError{Err: errors.New("503"), Retry: true, RetryAfter: after}
	}
	for _, c := range []struct {
		attempt int
		err     error
		want    time.Duration
		ok      bool
	}{
		{1, retry(0), time.Millisecond, true},
		{1, retry(time.Second), time.Second, true},   // lengthened
		{1, retry(time.Hour), 5 * time.Second, true}, // up to the next step
		{2, retry(time.Hour), 5 * time.Second, true}, // the last step caps itself
		{2, retry(time.Millisecond), 5 * time.Second, true},
		{3, retry(0), 0, false},                           // out of steps
		{1, &SendError{Err: errors.New("404")}, 0, false}, // final
		{1, nil, 0, false},
	} {
		got, ok := o.next(c.attempt, c.err)
		if got != c.want || ok != c.ok {
			t.Errorf("next(%d, %v) = %v, %v; want %v, %v", c.attempt, c.err, got, ok, c.want, c.ok)
		}
	}
}

// The default retries back off, and their last comes within the day
// after the first attempt, but not much before its end.
func TestDefaultBackoffSpansADay(t *testing.T) {
	var total time.Duration
	for i, d := range DefaultBackoff {
		total += d
		if i > 0 && d < DefaultBackoff[i-1] {
			t.Errorf("wait %d (%v) is shorter than the one before", i, d)
		}
	}
	if total < 23*time.Hour+30*time.Minute || total > 24*time.Hour {
		t.Errorf("the default retries span %v, want the 24 hours after the first attempt", total)
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
	st := newStore(t)
	st.queue(t, "evt_1", r.srv.URL)
	runOutbox(t, st, r.sender(), nil, time.Millisecond, 5*time.Second)
	st.settle(t)
	r.check(2)
	if gap := r.times[1].Sub(r.times[0]); gap < 900*time.Millisecond || gap > 4*time.Second {
		t.Errorf("waited %s, want about 1s", gap)
	}
}

// A stopped outbox keeps its deliveries: one waiting for its retry keeps
// its schedule, and one cut off mid-attempt is due again at once. The
// next outbox on the store delivers both, under their first event ids.
func TestStopKeepsDeliveries(t *testing.T) {
	release := make(chan struct{})
	hang := func(w http.ResponseWriter) { <-release }
	r := newReceiver(t, status(500), hang, status(200))
	defer close(release)
	st := newStore(t)
	st.queue(t, "evt_retry", r.srv.URL+"/a")
	o := runOutbox(t, st, r.sender(), nil, 300*time.Millisecond)
	attempts := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); r.attempts() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d attempts after 30 s, want %d", r.attempts(), n)
			}
		}
	}
	attempts(1)
	st.queue(t, "evt_hang", r.srv.URL+"/b")
	o.Notify()
	attempts(2) // the second is hanging now
	start := time.Now()
	o.stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to stop", d)
	}
	rows := st.rows(t)
	if len(rows) != 2 || rows["evt_retry"].attempts != 1 || rows["evt_hang"].attempts != 1 ||
		rows["evt_hang"].nextAt.After(time.Now()) || !rows["evt_retry"].nextAt.After(start) {
		t.Fatalf("after stopping: %+v", rows)
	}

	runOutbox(t, st, r.sender(), nil, 300*time.Millisecond)
	st.settle(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[string]int{}
	for _, id := range r.ids {
		got[id]++
	}
	if len(r.ids) != 4 || got["evt_retry"] != 2 || got["evt_hang"] != 2 {
		t.Fatalf("event ids seen: %v", r.ids)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	hangUp := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	r := newReceiver(t, hangUp, status(200))
	st := newStore(t)
	st.queue(t, "evt_1", r.srv.URL)
	runOutbox(t, st, r.sender(), nil, time.Millisecond)
	st.settle(t)
	r.check(2)
}

func TestBlockedNotRetried(t *testing.T) {
	r := newReceiver(t, status(200))
	s := r.sender()
	s.Client = netguard.Policy{AllowHTTP: true}.Client(5 * time.Second) // 127.0.0.1 not allowed
	err := s.Send(t.Context(), &store.Delivery{ID: "evt_1", URL: r.srv.URL, Body: []byte("{}")})
	var se *SendError
	if !errors.Is(err, netguard.ErrBlocked) || !errors.As(err, &se) || se.Retry {
		t.Fatalf("got %v, want a final ErrBlocked", err)
	}
	r.check(0)
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	r := newReceiver(t, status(500))
	var logs syncBuffer
	st := newStore(t)
	st.queue(t, "evt_1", r.srv.URL+"/hooks/T0KENPATH?token=s3cr3tquery")
	// A network error's text (*url.Error) carries the URL too.
	st.queue(t, "evt_2", "http://127.0.0.1:1/hooks/T0KENPATH?token=s3cr3tquery")
	s := r.sender()
	s.Client = netguard.Policy{AllowHosts: []string{r.srv.Listener.Addr().String(), "127.0.0.1:1"}, AllowHTTP: true}.Client(5 * time.Second)
	runOutbox(t, st, s, slog.New(slog.NewTextHandler(&logs, nil)), time.Millisecond)
	st.settle(t)
	if !strings.Contains(logs.String(), "retry") || !strings.Contains(logs.String(), "giving up") {
		t.Errorf("expected retry logs, got:\n%s", logs.String())
	}
	for _, leak := range []string{"s3cr3tquery", "T0KENPATH", string(secret)} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("%q leaked into:\n%s", leak, logs.String())
		}
	}
	err := s.Send(t.Context(), &store.Delivery{ID: "evt_3", URL: "http://127.0.0.1:1/hooks/T0KENPATH?token=s3cr3tquery"})
	if err == nil || strings.Contains(err.Error(), "T0KENPATH") || strings.Contains(err.Error(), "s3cr3tquery") {
		t.Errorf("error %v", err)
	}
}

func TestSenderNeedsClientAndSecret(t *testing.T) {
	d := &store.Delivery{ID: "evt_1", URL: "https://example.com/"}
	if err := (&Sender{Secret: secret}).Send(t.Context(), d); err == nil {
		t.Error("no client: want an error")
	}
	if err := (&Sender{Client: http.DefaultClient}).Send(t.Context(), d); err == nil {
		t.Error("no secret: want an error")
	}
}

// syncBuffer is a bytes.Buffer for logs written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
