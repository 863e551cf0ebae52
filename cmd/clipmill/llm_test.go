package main

import (
	"strings"
	"testing"
)

func TestLLMClientFromFlags(t *testing.T) {
	t.Setenv("CLIPMILL_LLM_KEY", "sk-from-env")
	if c, err := llmClient("", "gpt-4o-mini"); c != nil || err != nil {
		t.Errorf("no --llm-url: %v, %v; want no model", c, err)
	}
	c, err := llmClient("http://127.0.0.1:11434", "qwen2.5:3b")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://127.0.0.1:11434" || c.Model != "qwen2.5:3b" || c.APIKey != "sk-from-env" {
		t.Errorf("client %+v", *c)
	}
}

// A bad --llm-url or --llm-model stops either command before any work,
// with one line naming the flag.
func TestLLMFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"clip", "talk.mp4", "--llm-url", "localhost:11434"}, "--llm-url: must be an http:// or https:// URL"},
		{[]string{"clip", "talk.mp4", "--llm-url", "http://127.0.0.1:11434", "--llm-model", ""}, "--llm-model: is empty"},
		{[]string{"serve", "--llm-url", "ftp://models.test"}, "--llm-url: must be an http:// or https:// URL"},
		{[]string{"serve", "--llm-url", "https://user:secret@bad host/v1"}, "--llm-url: not a valid URL"},
	} {
		code, _, stderr := clipmill(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
		if strings.Contains(stderr, "secret") {
			t.Errorf("%q: the error shows the URL's password: %q", c.args, stderr)
		}
	}
}
