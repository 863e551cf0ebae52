// Package httpx holds what every HTTP client in clipmill needs alike: a
// server's Retry-After, read in both its forms, and URLs kept out of logs
// and error messages, where their paths and queries may carry tokens.
package httpx

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date,
// measured from now. ok is false when the header is absent or unreadable;
// a date in the past is a wait of 0. Waits are capped at a day.
func RetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(0, t.Sub(now)), 24*time.Hour), true
	}
	return 0, false
}

// Origin is a URL's scheme and host, with "/…" when it had more: for URLs
// whose path may itself be a secret (Slack and Discord webhooks).
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparseable URL)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// WithoutQuery drops a URL's query and user info, which for presigned URLs
// hold credentials, and keeps its path, which tells the user which file.
func WithoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

// RedactError rewrites the URL that net/http puts into its errors.
func RedactError(err error, redact func(string) string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redact(ue.URL), Err: ue.Err}
	}
	return err
}
