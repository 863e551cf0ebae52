package openaicompat

import "testing"

func TestEndpoint(t *testing.T) {
	for _, c := range []struct{ base, path, want string }{
		{"", "/chat/completions", "https://api.openai.com/v1/chat/completions"},
		{"http://127.0.0.1:11434", "/chat/completions", "http://127.0.0.1:11434/v1/chat/completions"},
		{"http://127.0.0.1:11434/", "/chat/completions", "http://127.0.0.1:11434/v1/chat/completions"},
		{"http://127.0.0.1:8080/v1/", "/chat/completions", "http://127.0.0.1:8080/v1/chat/completions"},
		{"https://h.test/openai/v1", "/chat/completions", "https://h.test/openai/v1/chat/completions"},
		{"https://h.test/v1/chat/completions", "/chat/completions", "https://h.test/v1/chat/completions"},
		{"https://api.openai.com", "/audio/transcriptions", "https://api.openai.com/v1/audio/transcriptions"},
		{"http://h/proxy/v1/", "/audio/transcriptions", "http://h/proxy/v1/audio/transcriptions"},
		{"http://h/v1/audio/transcriptions", "/audio/transcriptions", "http://h/v1/audio/transcriptions"},
	} {
		if got := Endpoint(c.base, c.path); got != c.want {
			t.Errorf("Endpoint(%q, %q) = %q, want %q", c.base, c.path, got, c.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"Invalid file format.","type":"invalid_request_error"}}`: "400 Bad Request: Invalid file format.",
		`{"error":"model not loaded"}`:                                "400 Bad Request: model not loaded",
		`{"detail":"Not authenticated k3y"}`:                          "400 Bad Request: Not authenticated [api key]",
		`{"detail":[{"loc":["body","file"],"msg":"field required"}]}`: `400 Bad Request: [{"loc":["body","file"],"msg":"field required"}]`,
		`{"message":"quota"}`:                                         "400 Bad Request: quota",
		"":                                                            "400 Bad Request",
		"plain\n  text":                                               "400 Bad Request: plain text",
	} {
		if got := ErrorText("400 Bad Request", []byte(body), "k3y"); got != want {
			t.Errorf("ErrorText(%q) = %q, want %q", body, got, want)
		}
	}
}
