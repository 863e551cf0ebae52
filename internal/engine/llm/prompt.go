package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// chatRequest is the body of POST /v1/chat/completions. No temperature is
// sent: reasoning models refuse any but their own.
type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []message      `json:"messages"`
	ResponseFormat responseFormat `json:"response_format"`
	Stream         bool           `json:"stream"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type       string     `json:"type"` // "json_schema"
	JSONSchema jsonSchema `json:"json_schema"`
}

type jsonSchema struct {
	Name   string  `json:"name"`
	Strict bool    `json:"strict"`
	Schema *schema `json:"schema"`
}

// schema is the subset of JSON Schema that every structured-output
// implementation accepts in strict mode: no length or count limits, which
// OpenAI refuses; those are checked on the answer instead.
type schema struct {
	Type                 string   `json:"type"`
	Description          string   `json:"description,omitempty"`
	Enum                 []string `json:"enum,omitempty"`
	Items                *schema  `json:"items,omitempty"`
	Properties           props    `json:"properties,omitempty"`
	Required             []string `json:"required,omitempty"`
	AdditionalProperties *bool    `json:"additionalProperties,omitempty"`
}

// props keeps the properties in order: grammar-constrained decoders (llama.cpp,
// Ollama) generate them in the order given, and the id should come first.
type props []prop

type prop struct {
	Name   string
	Schema *schema
}

func (p props) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(x.Name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(x.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// object is a strict object schema: every property required, no others.
func object(p props) *schema {
	no := false
	s := &schema{Type: "object", Properties: p, AdditionalProperties: &no}
	for _, x := range p {
		s.Required = append(s.Required, x.Name)
	}
	return s
}

// slotKey names slot i (from 0) in the answer.
func slotKey(i int) string { return fmt.Sprintf("slot_%d", i+1) }

// answerSchema is one required property per slot, whose id can only be one
// of that slot's candidates: a server that enforces the schema cannot
// answer with the wrong number of slots or a foreign id.
func answerSchema(slots []Slot) *schema {
	var p props
	for i, s := range slots {
		ids := make([]string, len(s.Candidates))
		for j, c := range s.Candidates {
			ids[j] = c.ID
		}
		p = append(p, prop{slotKey(i), object(props{
			{"id", &schema{Type: "string", Enum: ids, Description: "the id of one candidate of this slot"}},
			{"title", &schema{Type: "string", Description: fmt.Sprintf("at most %d characters, only words the clip says", maxTitle)}},
			{"hook", &schema{Type: "string", Description: "the clip's strongest opening line"}},
			{"reason", &schema{Type: "string", Description: "one sentence: why this moment works"}},
			{"hashtags", &schema{Type: "array", Items: &schema{Type: "string"}, Description: "3 to 5, each one word starting with #"}},
		})})
	}
	return object(p)
}

// systemPrompt is short on purpose: small local models follow a few plain
// rules better than many subtle ones.
const systemPrompt = `You choose short clips cut from a longer video and write the text posted with them.

For each slot, choose one candidate of that slot by its id. Never choose the same candidate twice.
Prefer a clip that stands on its own: a strong opening, one idea, a clear payoff. Follow the editor's request when there is one.

For each chosen clip write:
- title: at most 60 characters. Use only words the clip says. You may leave words out, but never add a word or a number the clip does not say.
- hook: the clip's strongest opening line, in its own words.
- reason: one short sentence on why this moment works.
- hashtags: 3 to 5, each one word starting with #, like #coffee.

Answer with one JSON object and nothing else. It must match this JSON schema:
`

// Transcripts are cut to fit a small model's context (Ollama's default is
// a few thousand tokens): about transcriptBudget words for all candidates,
// and between minWords and maxWords for each.
const (
	transcriptBudget = 1500
	minWords         = 40
	maxWords         = 150
)

// request builds the chat request for Choose.
func (c *Client) request(title, prompt string, slots []Slot) chatRequest {
	sch := answerSchema(slots)
	schemaText, _ := json.Marshal(sch) // only strings and slices: cannot fail
	model := c.Model
	if model == "" {
		model = DefaultModel
	}
	return chatRequest{
		Model: model,
		Messages: []message{
			{Role: "system", Content: systemPrompt + string(schemaText)},
			{Role: "user", Content: userPrompt(title, prompt, slots)},
		},
		ResponseFormat: responseFormat{Type: "json_schema",
			JSONSchema: jsonSchema{Name: "clip_choices", Strict: true, Schema: sch}},
	}
}

// userPrompt lists the slots and their numbered candidates.
func userPrompt(title, prompt string, slots []Slot) string {
	n := 0
	for _, s := range slots {
		n += len(s.Candidates)
	}
	perClip := min(max(transcriptBudget/n, minWords), maxWords)

	var b strings.Builder
	if t := oneLine(title); t != "" {
		fmt.Fprintf(&b, "Video title: %q\n", t)
	}
	if p := oneLine(prompt); p != "" {
		fmt.Fprintf(&b, "Editor's request: %q\n", p)
	}
	for i, s := range slots {
		fmt.Fprintf(&b, "\nSlot %d (answer as %q): a clip of %s. Candidates:\n", i+1, slotKey(i), durationText(s.DurationType))
		for j, cand := range s.Candidates {
			fmt.Fprintf(&b, "%d. id %q, %.0f seconds, offline score %d/100", j+1, cand.ID, cand.End-cand.Start, cand.Score)
			if r := oneLine(cand.Reason); r != "" {
				fmt.Fprintf(&b, " (%s)", r)
			}
			fmt.Fprintf(&b, "\n   Transcript: %q\n", cutWords(cand.Transcript, perClip))
		}
	}
	keys := make([]string, len(slots))
	for i := range slots {
		keys[i] = fmt.Sprintf("%q: {...}", slotKey(i))
	}
	fmt.Fprintf(&b, "\nAnswer with {%s}.", strings.Join(keys, ", "))
	return b.String()
}

func durationText(d string) string {
	switch d {
	case "30":
		return "about 30 seconds"
	case "60":
		return "about 60 seconds"
	case "180":
		return "about 3 minutes"
	case "long":
		return "more than 3 minutes"
	}
	return d + " seconds"
}

// cutWords keeps at most n words: the opening, where the hook is, and the
// end, where the payoff is, with "…" between.
func cutWords(text string, n int) string {
	w := strings.Fields(text)
	if len(w) <= n {
		return strings.Join(w, " ")
	}
	head := n * 2 / 3
	tail := n - head
	return strings.Join(w[:head], " ") + " … " + strings.Join(w[len(w)-tail:], " ")
}

// oneLine collapses all white space, newlines included, to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
