package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxTitle    = 60  // characters
	maxHook     = 200 // characters: one line on screen
	maxReason   = 300 // characters: one line in the API
	minHashtags = 3
	maxHashtags = 5
	maxHashtag  = 40 // characters after the #
)

// answer is what the model writes for one slot.
type answer struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Hook     string   `json:"hook"`
	Reason   string   `json:"reason"`
	Hashtags []string `json:"hashtags"`
}

var slotKeyRE = regexp.MustCompile(`^slot_[0-9]+$`)

// parseAnswer checks the model's answer against the slots and returns the
// choices in slot order, or what was wrong.
func parseAnswer(content string, slots []Slot) ([]Choice, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(jsonObject(content)), &top); err != nil {
		return nil, fmt.Errorf("not a JSON object (%s): %w", quote(content, 80), err)
	}
	for k := range top {
		if !slotKeyRE.MatchString(k) {
			return nil, fmt.Errorf("unexpected field %s; want only %s", quote(k, 40), keyList(len(slots)))
		}
	}
	if len(top) != len(slots) {
		return nil, fmt.Errorf("it fills %d slots, not %d (%s)", len(top), len(slots), keyList(len(slots)))
	}
	chosen := map[string]int{} // candidate id: slot index
	out := make([]Choice, len(slots))
	for i, s := range slots {
		raw, ok := top[slotKey(i)]
		if !ok {
			return nil, fmt.Errorf("%s is missing", slotKey(i))
		}
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("%s: wrong shape (%s): %w", slotKey(i), quote(string(raw), 80), err)
		}
		ch, err := checkChoice(a, s, slots, chosen)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", slotKey(i), err)
		}
		chosen[ch.ID] = i
		out[i] = ch
	}
	return out, nil
}

// checkChoice checks and tidies one slot's answer.
func checkChoice(a answer, s Slot, slots []Slot, chosen map[string]int) (Choice, error) {
	idx := slices.IndexFunc(s.Candidates, func(c Candidate) bool { return c.ID == a.ID })
	if idx < 0 {
		for j, other := range slots {
			if slices.ContainsFunc(other.Candidates, func(c Candidate) bool { return c.ID == a.ID }) {
				return Choice{}, fmt.Errorf("id %q is a candidate of %s, not of this slot", a.ID, slotKey(j))
			}
		}
		return Choice{}, fmt.Errorf("id %s is not one of this slot's candidates", quote(a.ID, 40))
	}
	if prev, dup := chosen[a.ID]; dup {
		return Choice{}, fmt.Errorf("candidate %q is already chosen for %s", a.ID, slotKey(prev))
	}
	cand := s.Candidates[idx]
	title, err := checkTitle(a.Title, cand.Transcript)
	if err != nil {
		return Choice{}, err
	}
	hook, err := checkLine("hook", unquote(oneLine(a.Hook)), maxHook)
	if err != nil {
		return Choice{}, err
	}
	reason, err := checkLine("reason", oneLine(a.Reason), maxReason)
	if err != nil {
		return Choice{}, err
	}
	tags, err := normalizeHashtags(a.Hashtags)
	if err != nil {
		return Choice{}, err
	}
	return Choice{ID: cand.ID, Title: title, Hook: hook, Reason: reason, Hashtags: tags}, nil
}

func checkLine(what, s string, limit int) (string, error) {
	if s == "" {
		return "", fmt.Errorf("the %s is empty", what)
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return "", fmt.Errorf("the %s is %d characters, more than %d (%s)", what, n, limit, quote(s, 60))
	}
	return s, nil
}

// jsonObject finds the JSON object in a model's message: servers that
// ignore the schema let models wrap it in prose, a ``` fence, or a
// <think> block first.
func jsonObject(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<think>") {
		if _, after, ok := strings.Cut(s, "</think>"); ok {
			s = strings.TrimSpace(after)
		}
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		return s
	}
	i, j := strings.Index(s, "{"), strings.LastIndex(s, "}")
	if i < 0 || j < i {
		return s // not an object: Unmarshal says what it is
	}
	return s[i : j+1]
}

func keyList(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = slotKey(i)
	}
	return strings.Join(keys, ", ")
}

// quote is s for an error message: one line, at most n characters, quoted.
func quote(s string, n int) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// unquote drops quotation marks around a whole string, which models add to
// titles and hooks.
func unquote(s string) string {
	for _, q := range [][2]string{{`"`, `"`}, {"“", "”"}, {"'", "'"}, {"«", "»"}, {"‘", "’"}} {
		if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			return strings.TrimSpace(s[len(q[0]) : len(s)-len(q[1])])
		}
	}
	return s
}

// normalizeHashtags accepts "#Word", "Word" and "##Word", keeps the model's
// casing, drops repeats (whatever their case) and wants 3-5 left.
func normalizeHashtags(tags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		body := strings.TrimLeft(strings.TrimSpace(t), "#")
		if err := checkHashtag(body); err != nil {
			return nil, fmt.Errorf("hashtag %s: %w", quote(t, 40), err)
		}
		key := strings.ToLower(body)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, "#"+body)
	}
	if len(out) < minHashtags || len(out) > maxHashtags {
		return nil, fmt.Errorf("%d distinct hashtags, want %d to %d", len(out), minHashtags, maxHashtags)
	}
	return out, nil
}

// checkHashtag wants one word of letters, digits or underscores, with at
// least one letter: platforms do not link "#2024" or "#two words".
func checkHashtag(body string) error {
	if body == "" {
		return errors.New("is empty")
	}
	if utf8.RuneCountInString(body) > maxHashtag {
		return fmt.Errorf("is longer than %d characters", maxHashtag)
	}
	letter := false
	for _, r := range body {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r), unicode.Is(unicode.Mn, r), r == '_':
		case unicode.IsSpace(r):
			return errors.New("has a space")
		default:
			return fmt.Errorf("has %q, which is not a letter, digit or _", r)
		}
	}
	if !letter {
		return errors.New("has no letter")
	}
	return nil
}
