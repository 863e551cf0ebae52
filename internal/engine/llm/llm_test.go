package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-test-llm-0123456789secret"

// testSlots are two slots, a 30 and a 60, with three candidates each.
func testSlots() []Slot {
	return []Slot{
		{DurationType: "30", Candidates: []Candidate{
			{ID: "c1", DurationType: "30", Start: 10, End: 38, Score: 62, Reason: "opens with a question",
				Transcript: "Why does most coffee taste bitter? Because the water is too hot and the grind is too fine."},
			{ID: "c2", DurationType: "30", Start: 50, End: 81, Score: 71,
				Transcript: "There are 1,350 potentially active volcanoes on Earth, and about fifty erupt every year."},
			{ID: "c3", DurationType: "30", Start: 90, End: 121, Score: 40,
				Transcript: "The biggest mistake beginners make in chess is moving the queen out too early."},
		}},
		{DurationType: "60", Candidates: []Candidate{
			{ID: "c4", DurationType: "60", Start: 0, End: 58, Score: 80,
				Transcript: "Sixteen grams of coffee, two hundred and fifty grams of water. Don't grind too fine, and brew for four minutes."},
			{ID: "c5", DurationType: "60", Start: 60, End: 122, Score: 55,
				Transcript: "The Queen's Gambit is the oldest opening still played at the top level."},
			{ID: "c6", DurationType: "60", Start: 130, End: 190, Score: 35,
				Transcript: "Thanks for watching, and subscribe for more."},
		}},
	}
}

// goodAnswer is a correct answer for testSlots, with the untidy bits
// models write: a hashtag without #, one repeated in another case, a
// quoted title and a two-line reason.
const goodAnswer = `{
  "slot_1": {"id": "c1", "title": "Why Most Coffee Tastes Bitter", "hook": "Why does most coffee taste bitter?",
             "reason": "Opens on a question\nand answers it.", "hashtags": ["#coffee", "Brewing", "#Coffee", "#CoffeeTips"]},
  "slot_2": {"id": "c4", "title": "\"16 Grams of Coffee, 250 Grams of Water\"", "hook": "Sixteen grams of coffee.",
             "reason": "A recipe in one breath.", "hashtags": ["#coffee", "#recipe", "#brewing", "#pourover", "#barista"]}
}`

var goodChoices = []Choice{
	{ID: "c1", Title: "Why Most Coffee Tastes Bitter", Hook: "Why does most coffee taste bitter?",
		Reason: "Opens on a question and answers it.", Hashtags: []string{"#coffee", "#Brewing", "#CoffeeTips"}},
	{ID: "c4", Title: "16 Grams of Coffee, 250 Grams of Water", Hook: "Sixteen grams of coffee.",
		Reason: "A recipe in one breath.", Hashtags: []string{"#coffee", "#recipe", "#brewing", "#pourover", "#barista"}},
}

// chatBody wraps content as an OpenAI chat-completions answer.
func chatBody(content string) string {
	c, _ := json.Marshal(content)
	return `{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":` + string(c) + `},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":900,"completion_tokens":120,"total_tokens":1020}}`
}

// received is one request as the fake endpoint saw it.
type received struct {
	method, path string
	header       http.Header
	body         []byte
	at           time.Time
}

// fake is a chat-completions endpoint on loopback that answers each
// request with the next of its replies (the last one repeats).
type fake struct {
	mu      sync.Mutex
	reqs    []received
	replies []func(w http.ResponseWriter, r *http.Request)
	srv     *httptest.Server
}

func newFake(t *testing.T, replies ...func(w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, received{r.Method, r.URL.Path, r.Header.Clone(), body, time.Now()})
		reply := f.replies[min(len(f.reqs), len(f.replies))-1]
		f.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fake) client() *Client {
	return &Client{BaseURL: f.srv.URL, Model: "qwen2.5:3b", APIKey: testKey, Timeout: 5 * time.Second,
		retryWait: 10 * time.Millisecond}
}

func answerWith(content string) func(w http.ResponseWriter, r *http.Request) {
	return reply(http.StatusOK, chatBody(content), nil)
}

func reply(status int, body string, header map[string]string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// noKey fails the test when err shows the API key.
func noKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("the error shows the API key: %v", err)
	}
}

func TestChooseGoodAnswer(t *testing.T) {
	f := newFake(t, answerWith(goodAnswer))
	got, err := f.client().Choose(t.Context(), "Three hobbies in four minutes", "coffee brewing", testSlots())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goodChoices) {
		t.Errorf("choices:\ngot  %+v\nwant %+v", got, goodChoices)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	checkRequest(t, reqs[0], testSlots())
}

// checkRequest checks everything the client sends.
func checkRequest(t *testing.T, r received, slots []Slot) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/v1/chat/completions" {
		t.Errorf("request %s %s, want POST /v1/chat/completions", r.method, r.path)
	}
	if got := r.header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var req struct {
		Model    string `json:"model"`
		Stream   *bool  `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		ResponseFormat struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name   string          `json:"name"`
				Strict bool            `json:"strict"`
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("request body: %v\n%s", err, r.body)
	}
	if req.Model != "qwen2.5:3b" {
		t.Errorf("model = %q", req.Model)
	}
	if req.Stream == nil || *req.Stream {
		t.Errorf("stream = %v, want false", req.Stream)
	}
	rf := req.ResponseFormat
	if rf.Type != "json_schema" || rf.JSONSchema.Name == "" || !rf.JSONSchema.Strict {
		t.Errorf("response_format = %s %q strict=%v", rf.Type, rf.JSONSchema.Name, rf.JSONSchema.Strict)
	}
	checkSchema(t, rf.JSONSchema.Schema, slots)

	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("messages: %+v", req.Messages)
	}
	system, user := req.Messages[0].Content, req.Messages[1].Content
	// The system message holds the exact schema that response_format does,
	// for servers that ignore response_format.
	var compact bytes.Buffer
	json.Compact(&compact, rf.JSONSchema.Schema)
	if !strings.Contains(system, compact.String()) {
		t.Errorf("the system message does not hold the schema:\n%s", system)
	}
	for _, want := range []string{`"Three hobbies in four minutes"`, `"coffee brewing"`, `"slot_1"`, `"slot_2"`} {
		if !strings.Contains(user, want) {
			t.Errorf("the user message has no %s:\n%s", want, user)
		}
	}
	for _, s := range slots {
		for _, c := range s.Candidates {
			if !strings.Contains(user, fmt.Sprintf("id %q", c.ID)) {
				t.Errorf("the user message does not name candidate %s", c.ID)
			}
			if !strings.Contains(user, fmt.Sprintf("%q", c.Transcript)) {
				t.Errorf("the user message does not hold the transcript of %s", c.ID)
			}
		}
	}
}

// checkSchema: one required object per slot, whose id is an enum of that
// slot's candidates, strict at every level, the id generated first.
func checkSchema(t *testing.T, raw json.RawMessage, slots []Slot) {
	t.Helper()
	type node struct {
		Type                 string           `json:"type"`
		Enum                 []string         `json:"enum"`
		Required             []string         `json:"required"`
		AdditionalProperties *bool            `json:"additionalProperties"`
		Properties           map[string]*node `json:"properties"`
		Items                *node            `json:"items"`
	}
	var root node
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("schema: %v", err)
	}
	strict := func(where string, n *node) {
		if n.Type != "object" || n.AdditionalProperties == nil || *n.AdditionalProperties {
			t.Errorf("%s: type %q additionalProperties %v, want a closed object", where, n.Type, n.AdditionalProperties)
		}
		keys := make([]string, 0, len(n.Properties))
		for k := range n.Properties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		req := slices.Sorted(slices.Values(n.Required))
		if !slices.Equal(keys, req) {
			t.Errorf("%s: required %v, properties %v: strict mode wants them all required", where, req, keys)
		}
	}
	strict("root", &root)
	if len(root.Properties) != len(slots) {
		t.Errorf("schema has %d slots, want %d", len(root.Properties), len(slots))
	}
	for i, s := range slots {
		key := fmt.Sprintf("slot_%d", i+1)
		n := root.Properties[key]
		if n == nil {
			t.Errorf("schema has no %s", key)
			continue
		}
		strict(key, n)
		var ids []string
		for _, c := range s.Candidates {
			ids = append(ids, c.ID)
		}
		if id := n.Properties["id"]; id == nil || !slices.Equal(id.Enum, ids) {
			t.Errorf("%s.id: %+v, want an enum of %v", key, id, ids)
		}
		for _, f := range []string{"title", "hook", "reason"} {
			if p := n.Properties[f]; p == nil || p.Type != "string" {
				t.Errorf("%s.%s: %+v", key, f, p)
			}
		}
		if h := n.Properties["hashtags"]; h == nil || h.Type != "array" || h.Items == nil || h.Items.Type != "string" {
			t.Errorf("%s.hashtags: %+v", key, h)
		}
	}
	// Grammar-constrained decoders generate properties in the order given.
	s := string(raw)
	if i, j := strings.Index(s, `"id"`), strings.Index(s, `"title"`); i < 0 || j < i {
		t.Errorf("the id does not come before the title: %s", s)
	}
	// Keywords outside OpenAI's strict subset make it refuse the request.
	for _, kw := range []string{"minItems", "maxItems", "maxLength", "minLength", "pattern"} {
		if strings.Contains(s, `"`+kw+`"`) {
			t.Errorf("the schema uses %s", kw)
		}
	}
}

// A base URL ending in /v1, with no key: the path is not doubled and no
// Authorization header is sent.
func TestBaseURLWithV1AndNoKey(t *testing.T) {
	f := newFake(t, answerWith(goodAnswer))
	c := f.client()
	c.BaseURL += "/v1/"
	c.APIKey = ""
	c.Model = ""
	if _, err := c.Choose(t.Context(), "", "", testSlots()); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.path != "/v1/chat/completions" {
		t.Errorf("path %s", r.path)
	}
	if _, ok := r.header["Authorization"]; ok {
		t.Errorf("Authorization sent without a key: %q", r.header.Get("Authorization"))
	}
	if !bytes.Contains(r.body, []byte(`"model":"gpt-4o-mini"`)) {
		t.Errorf("the default model was not asked for: %s", r.body)
	}
	if bytes.Contains(r.body, []byte("Editor's request")) || bytes.Contains(r.body, []byte("Video title")) {
		t.Errorf("an empty title or prompt is still mentioned: %s", r.body)
	}
}

// Servers that ignore response_format let the model wrap its JSON.
func TestChooseWrappedJSON(t *testing.T) {
	for name, content := range map[string]string{
		"fence": "```json\n" + goodAnswer + "\n```",
		"prose": "Here are my picks:\n" + goodAnswer + "\nHope this helps!",
		"think": "<think>The first candidate opens with a {question}.</think>\n" + goodAnswer,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, answerWith(content))
			got, err := f.client().Choose(t.Context(), "t", "", testSlots())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, goodChoices) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

// swap replaces old with new in goodAnswer, failing if old is absent.
func swap(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(goodAnswer, old) {
		t.Fatalf("goodAnswer has no %s", old)
	}
	return strings.Replace(goodAnswer, old, new, 1)
}

func TestChooseBadAnswers(t *testing.T) {
	cases := []struct {
		name, content string
		want          string // in the error
	}{
		{"invalid JSON", `{"slot_1": {"id": "c1", "title": "Why`, "not a JSON object"},
		{"prose", "I would pick c1 and c4.", "not a JSON object"},
		{"array", `[{"id": "c1"}, {"id": "c4"}]`, "not a JSON object"},
		{"wrong field type", swap(t, `"id": "c1"`, `"id": 1`), "slot_1: wrong shape"},
		{"hashtags as a string", swap(t, `["#coffee", "Brewing", "#Coffee", "#CoffeeTips"]`, `"#coffee #brewing #tips"`), "slot_1: wrong shape"},
		{"unexpected field", `{"clips": []}`, `unexpected field "clips"`},
		{"one slot of two", `{"slot_1": {"id": "c1", "title": "Coffee", "hook": "h", "reason": "r", "hashtags": ["#a", "#b", "#c"]}}`, "fills 1 slots, not 2"},
		{"three slots of two", swap(t, `"slot_2"`, `"slot_3": {}, "slot_2"`), "fills 3 slots, not 2"},
		{"renamed slot", swap(t, `"slot_2"`, `"slot_3"`), "slot_2 is missing"},
		{"unknown id", swap(t, `"id": "c4"`, `"id": "c9"`), `slot_2: id "c9" is not one of this slot's candidates`},
		{"id of another slot", swap(t, `"id": "c4"`, `"id": "c2"`), `slot_2: id "c2" is a candidate of slot_1`},
		{"empty id", swap(t, `"id": "c4"`, `"id": ""`), `slot_2: id "" is not one`},
		{"title not spoken", swap(t, `Why Most Coffee Tastes Bitter`, `The Secret to Perfect Coffee`), "never says: secret, perfect"},
		{"number not spoken", swap(t, `16 Grams of Coffee, 250 Grams of Water`, `15 Grams of Coffee`), "never says: 15"},
		{"title too long", swap(t, `Why Most Coffee Tastes Bitter`, `Why Most Coffee Tastes Bitter Because the Water Is Too Hot Here`), "more than 60"},
		{"empty title", swap(t, `Why Most Coffee Tastes Bitter`, ` `), "the title is empty"},
		{"too many hashtags", swap(t, `"#pourover", "#barista"`, `"#pourover", "#barista", "#morning"`), "slot_2: 6 distinct hashtags, want 3 to 5"},
		{"too few once repeats go", swap(t, `"#recipe", "#brewing", "#pourover", "#barista"`, `"#Coffee", "coffee"`), "1 distinct hashtags"},
		{"hashtag with a space", swap(t, `"#pourover"`, `"#pour over"`), `hashtag "#pour over": has a space`},
		{"hashtag of digits", swap(t, `"#pourover"`, `"#2024"`), "has no letter"},
		{"empty hook", swap(t, `"hook": "Sixteen grams of coffee."`, `"hook": ""`), "slot_2: the hook is empty"},
		{"empty reason", swap(t, `"reason": "A recipe in one breath."`, `"reason": "  "`), "the reason is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, answerWith(c.content))
			got, err := f.client().Choose(t.Context(), "t", "", testSlots())
			if err == nil {
				t.Fatalf("no error; choices %+v", got)
			}
			if got != nil {
				t.Errorf("choices returned with the error: %+v", got)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to say %q", err, c.want)
			}
			noKey(t, err)
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests: a bad answer is not retried", n)
			}
		})
	}
}

// Slots of the same length share their candidates; one may not fill both.
func TestChooseSamePickTwice(t *testing.T) {
	slots := testSlots()
	slots[0] = Slot{DurationType: "60", Candidates: slots[1].Candidates}
	f := newFake(t, answerWith(swap(t, `"id": "c1", "title": "Why Most Coffee Tastes Bitter"`, `"id": "c4", "title": "Sixteen Grams of Coffee"`)))
	_, err := f.client().Choose(t.Context(), "t", "", slots)
	if err == nil || !strings.Contains(err.Error(), `slot_2: candidate "c4" is already chosen for slot_1`) {
		t.Fatalf("error %v, want a duplicate pick", err)
	}
	// And a distinct pick of the shared list is fine.
	f = newFake(t, answerWith(swap(t, `"id": "c1", "title": "Why Most Coffee Tastes Bitter"`, `"id": "c5", "title": "The Queen's Gambit"`)))
	got, err := f.client().Choose(t.Context(), "t", "", slots)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ID != "c5" || got[1].ID != "c4" {
		t.Errorf("got %+v", got)
	}
}

func TestChooseBadResponses(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", `<html>proxy error</html>`, "bad response"},
		{"no choices", `{"choices": []}`, "no choices"},
		{"refusal", `{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`, "the model refused: I can't help with that."},
		{"cut off", `{"choices":[{"message":{"role":"assistant","content":"{\"slot_1\": {"},"finish_reason":"length"}]}`, "cut off"},
		{"empty", `{"choices":[{"message":{"role":"assistant","content":""},"finish_reason":"stop"}]}`, "answer is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, reply(http.StatusOK, c.body, nil))
			_, err := f.client().Choose(t.Context(), "t", "", testSlots())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := chatBody(strings.Repeat("x", maxResponse))
		f := newFake(t, reply(http.StatusOK, big, nil))
		_, err := f.client().Choose(t.Context(), "t", "", testSlots())
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("error %v, want a size limit", err)
		}
	})
}

func TestRetryAfterServerError(t *testing.T) {
	// The server echoes the key in its error, as some proxies do.
	f := newFake(t,
		reply(http.StatusInternalServerError, `{"error":{"message":"model is loading (key `+testKey+`)"}}`, nil),
		answerWith(goodAnswer))
	got, err := f.client().Choose(t.Context(), "t", "p", testSlots())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goodChoices) {
		t.Errorf("got %+v", got)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if !bytes.Equal(reqs[0].body, reqs[1].body) {
		t.Error("the retry sent a different body")
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	f := newFake(t,
		reply(http.StatusTooManyRequests, `{"error":{"message":"slow down"}}`, map[string]string{"Retry-After": "1"}),
		answerWith(goodAnswer))
	if _, err := f.client().Choose(t.Context(), "t", "", testSlots()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	// retryWait is 10 ms: only Retry-After explains a wait of a second.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond || gap > 3*time.Second {
		t.Errorf("retried after %v, want about the 1 s of Retry-After", gap)
	}
}

func TestRetryAfterBeyondCap(t *testing.T) {
	f := newFake(t,
		reply(http.StatusTooManyRequests, `{"error":"busy"}`, map[string]string{"Retry-After": "120"}),
		answerWith(goodAnswer))
	start := time.Now()
	_, err := f.client().Choose(t.Context(), "t", "", testSlots())
	if err == nil || !strings.Contains(err.Error(), "retry after 2m0s") || !strings.Contains(err.Error(), "429") {
		t.Fatalf("error %v, want a refusal to wait 2 minutes", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to give up", d)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestGiveUpAfterTwoAttempts(t *testing.T) {
	f := newFake(t, reply(http.StatusServiceUnavailable, `{"error":"overloaded; your key is `+testKey+`"}`, nil))
	_, err := f.client().Choose(t.Context(), "t", "", testSlots())
	if err == nil || !strings.Contains(err.Error(), "giving up after 2 attempts") || !strings.Contains(err.Error(), "503") ||
		!strings.Contains(err.Error(), "[api key]") {
		t.Fatalf("error %v", err)
	}
	noKey(t, err)
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	f := newFake(t, reply(http.StatusBadRequest, `{"error":{"message":"response_format json_schema is not supported"}}`, nil))
	_, err := f.client().Choose(t.Context(), "t", "", testSlots())
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request: response_format json_schema is not supported") {
		t.Fatalf("error %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A connection dropped before an answer is a network error: retried.
func TestRetryAfterNetworkError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}, answerWith(goodAnswer))
	if _, err := f.client().Choose(t.Context(), "t", "", testSlots()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// slowReply answers well, but only after 4 s, unless the client hangs up.
func slowReply(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(4 * time.Second):
		answerWith(goodAnswer)(w, r)
	}
}

func TestSlowServer(t *testing.T) {
	f := newFake(t, slowReply)
	c := f.client()
	c.Timeout = 300 * time.Millisecond
	start := time.Now()
	got, err := c.Choose(t.Context(), "t", "", testSlots())
	d := time.Since(start)
	if err == nil {
		t.Fatalf("no error; got %+v", got)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("error %v, want the deadline", err)
	}
	if d < 300*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("returned after %v, want just after the 300 ms deadline", d)
	}
}

// The caller's cancellation ends the call too, without waiting for the
// deadline.
func TestCallerCancels(t *testing.T) {
	f := newFake(t, slowReply)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client().Choose(ctx, "t", "", testSlots())
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("error %v after %v", err, time.Since(start))
	}
}

func TestCheckSlots(t *testing.T) {
	s := testSlots()
	twice := testSlots()
	twice[0].Candidates = append(twice[0].Candidates, twice[0].Candidates[0])
	clash := testSlots()
	clash[1].Candidates[0].ID = "c1" // another clip under c1's id
	short := []Slot{{"60", s[0].Candidates[:1]}, {"60", s[0].Candidates[:1]}}
	for name, c := range map[string]struct {
		slots []Slot
		want  string
	}{
		"none":            {nil, "no slot"},
		"empty slot":      {[]Slot{s[0], {DurationType: "60"}}, "slot 2 has no candidate"},
		"no id":           {[]Slot{{"30", []Candidate{{Transcript: "x"}}}}, "without an id"},
		"twice in a slot": {twice, `slot 1 lists candidate "c1" twice`},
		"id clash":        {clash, `"c1" names two different clips`},
		"too few":         {short, "1 candidates cannot fill 2 slots"},
	} {
		f := newFake(t, answerWith(goodAnswer))
		_, err := f.client().Choose(t.Context(), "t", "", c.slots)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%s: %d requests for a request no answer could fill", name, n)
		}
	}
}

func TestCheckTitle(t *testing.T) {
	const volcano = "There are 1,350 potentially active volcanoes on Earth, and about fifty erupt every year."
	const coffee = "When you brew better coffee at home, the five mistakes beginners make don't matter. Sixteen grams, and don't grind too fine."
	cases := []struct {
		title, transcript string
		ok                bool
	}{
		{"Why Most Coffee Tastes Bitter", "Most coffee tastes bitter because the water is too hot.", true},
		{"Brewing Better Coffee at Home", coffee, true},        // brew/brewing
		{"5 Mistakes Beginners Make", coffee, true},            // five = 5
		{"Five Beginner Mistakes", coffee, true},               // beginners/beginner
		{"Sixteen Grams: Don't Grind Too Fine", coffee, true},  // contraction
		{"16 Grams of Coffee", coffee, true},                   // sixteen = 16
		{"1,350 Active Volcanoes", volcano, true},              // 1,350 = 1,350
		{"1350 Potentially Active Volcanoes", volcano, true},   // 1350 = 1,350
		{"About 50 Volcanoes Erupt Every Year", volcano, true}, // fifty = 50
		{"Fifty Potentially Active Volcanoes", volcano, true},  // fifty is said, of eruptions
		{"1,350 Volcanoes", "one thousand three hundred and fifty volcanoes", true},
		{"Fifty Active Volcanoes", "1,350 potentially active volcanoes", false}, // the wrong title
		{"1,500 Active Volcanoes", volcano, false},
		{"6 Brewing Mistakes", coffee, false},
		{"The Best Coffee at Home", coffee, false},             // "best" is a claim
		{"Coffee Doesn't Matter", "coffee does matter", false}, // the negation is not said
		{"You Won't Believe This Coffee", coffee, false},
		{"How to Do It", coffee, false},   // no word from the clip
		{`"Better Coffee"`, coffee, true}, // quotes dropped
		{"咖啡的秘密", "咖啡的秘密就是水温", true},
		{"咖啡大师", "咖啡的秘密就是水温", false},
		{"Queen's Gambit, the Oldest Opening", "The Queen's Gambit is the oldest opening still played.", true},
		{"Stories That Stick", "a story that sticks", true},
		{"Stop Running Late", "we stopped, we ran late", false}, // ran is not run
	}
	for _, c := range cases {
		_, err := checkTitle(c.title, c.transcript)
		if (err == nil) != c.ok {
			t.Errorf("checkTitle(%q, %q) = %v, want ok %v", c.title, c.transcript, err, c.ok)
		}
	}
}

func TestNormalizeHashtags(t *testing.T) {
	got, err := normalizeHashtags([]string{" #Coffee ", "brewing", "##LatteArt", "#coffee", "#café", "#tips_2024"})
	want := []string{"#Coffee", "#brewing", "#LatteArt", "#café", "#tips_2024"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range [][]string{
		{"#a", "#b"},
		{"#a", "#b", "#c", "#d", "#e", "#f"},
		{"#a", "#b", "#"},
		{"#a", "#b", "#c-d"},
		{"#a", "#b", "#c#d"},
		{"#a", "#b", "#" + strings.Repeat("x", 41)},
	} {
		if got, err := normalizeHashtags(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

// Long transcripts are cut to keep the prompt within a small model's
// context, keeping the opening and the end.
func TestPromptCutsLongTranscripts(t *testing.T) {
	words := make([]string, 2000)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	long := strings.Join(words, " ")
	one := []Slot{{"long", []Candidate{{ID: "c1", Transcript: long}, {ID: "c2", Transcript: "short one"}}}}
	p := userPrompt("", "", one)
	for _, want := range []string{`"w0 w1 w2 `, " w99 … w1950 ", ` w1999"`, `"short one"`} {
		if !strings.Contains(p, want) {
			t.Errorf("the prompt has no %q", want)
		}
	}
	if strings.Contains(p, " w100 ") || strings.Contains(p, " w1000 ") {
		t.Error("the middle of a long transcript is kept")
	}

	// Four slots of eight long candidates stay within the budget.
	var many []Slot
	for s := range 4 {
		var cands []Candidate
		for c := range 8 {
			cands = append(cands, Candidate{ID: fmt.Sprintf("c%d", s*8+c), Transcript: long})
		}
		many = append(many, Slot{"180", cands})
	}
	if n := len(strings.Fields(userPrompt("t", "p", many))); n > transcriptBudget+32*20 {
		t.Errorf("the prompt is %d words", n)
	}
}

func TestValidBaseURL(t *testing.T) {
	for s, ok := range map[string]bool{
		"http://127.0.0.1:11434":        true,
		"https://api.openai.com/v1":     true,
		"https://user:secret@h.test/v1": true,
		"127.0.0.1:11434":               false,
		"ftp://h.test":                  false,
		"http://":                       false,
		"http://bad host:1/":            false,
		"https://user:secret@h test/v1": false,
	} {
		err := ValidBaseURL(s)
		if (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error shows the URL: %v", s, err)
		}
	}
}
