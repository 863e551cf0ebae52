package httpx

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"Sun, 29 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sun, 29 Nov 2026 11:00:00 GMT", 0, true},
		{"999999999", 24 * time.Hour, true},
		{"99999999999999999", 24 * time.Hour, true}, // bounded before multiplying
	} {
		got, ok := RetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRedaction(t *testing.T) {
	if got := Origin("https://hooks.slack.com/services/T0/B0/secret?x=1"); got != "https://hooks.slack.com/…" {
		t.Errorf("Origin: %s", got)
	}
	if got := Origin("https://example.com/"); got != "https://example.com" {
		t.Errorf("Origin: %s", got)
	}
	if got := WithoutQuery("https://u:p@bucket.s3.amazonaws.com/inbox/talk.mp4?X-Amz-Signature=abc"); got != "https://bucket.s3.amazonaws.com/inbox/talk.mp4" {
		t.Errorf("WithoutQuery: %s", got)
	}
	err := RedactError(&url.Error{Op: "Get", URL: "https://h/p?sig=secret", Err: errors.New("refused")}, WithoutQuery)
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("RedactError: %v", err)
	}
}
