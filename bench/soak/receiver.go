package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
	"github.com/clipmill/clipmill/internal/webhook"
)

// receiver takes the server's webhooks on loopback, as a customer's
// endpoint would: it verifies each signature, and it drops duplicates by
// event id, counting them. It refuses the first attempt of every
// refuseEvery-th event with a 503, so that retries are part of the soak.
type receiver struct {
	refuseEvery int

	mu       sync.Mutex
	secret   []byte
	events   map[string]*event   // by event id
	byJob    map[string][]string // job id -> event ids, in order of arrival
	order    int                 // new event ids seen
	attempts int
	refused  int
	badSig   []string // event ids whose signature did not verify
	noID     int      // deliveries without an event id
	badBody  int      // bodies that were not a webhook event
}

type event struct {
	id, jobID, eventType, callbackID string
	status                           clipping.JobStatus
	failure                          string
	delivered                        int // 2xx answers given
	attempts                         int
	refuseFirst                      bool
	first                            time.Time
}

func newReceiver(refuseEvery int) *receiver {
	return &receiver{refuseEvery: refuseEvery, events: map[string]*event{}, byJob: map[string][]string{}}
}

func (rc *receiver) setSecret(secret []byte) {
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id := r.Header.Get(webhook.HeaderDelivery)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if id == "" {
		rc.noID++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(rc.secret, body, r.Header.Get(webhook.HeaderSignature), time.Now(), 5*time.Minute); err != nil {
		rc.badSig = append(rc.badSig, id+": "+err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ev := rc.events[id]
	if ev == nil {
		var we clipping.WebhookEvent
		if err := json.Unmarshal(body, &we); err != nil || we.EventData.ID == "" {
			rc.badBody++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.order++
		ev = &event{id: id, jobID: we.EventData.ID, eventType: we.EventType, status: we.EventData.Status,
			first: time.Now(), refuseFirst: rc.refuseEvery > 0 && rc.order%rc.refuseEvery == 0}
		if we.EventData.CallbackID != nil {
			ev.callbackID = *we.EventData.CallbackID
		}
		if we.EventData.FailureMessage != nil {
			ev.failure = *we.EventData.FailureMessage
		}
		if h := r.Header.Get(webhook.HeaderEvent); h != we.EventType {
			ev.eventType = "header " + h + " != body " + we.EventType
		}
		rc.events[id] = ev
		rc.byJob[ev.jobID] = append(rc.byJob[ev.jobID], id)
	}
	ev.attempts++
	if ev.refuseFirst && ev.attempts == 1 {
		rc.refused++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	ev.delivered++
	w.WriteHeader(http.StatusNoContent)
}

// delivered reports whether a job's event was accepted at least once.
func (rc *receiver) delivered(jobID string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range rc.byJob[jobID] {
		if rc.events[id].delivered > 0 {
			return true
		}
	}
	return false
}

// files serves the sources that jobs name by URL, and counts requests.
type files struct {
	dir  string
	mu   sync.Mutex
	gets int
}

func (f *files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets++
	f.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/src/")
	if strings.ContainsAny(name, "/\\") || name == "" || name == "missing.mp4" {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, f.dir+"/"+name)
}
