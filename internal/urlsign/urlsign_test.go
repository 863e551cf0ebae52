package urlsign

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// A URL works until its expiry, and not with another path, another expiry,
// another secret or no signature.
func TestCheck(t *testing.T) {
	s := &Signer{Secret: []byte("s")}
	now := time.Unix(1_700_000_000, 0)
	exp := s.Expiry(now)
	link := s.URL("http://example.com", "/files/j1/c1.mp4", exp)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, tc := range []struct {
		name, target string
		at           time.Time
		want         string // "" for a valid link
	}{
		{"valid", link, now, ""},
		{"a second before expiry", link, time.Unix(exp-1, 0), ""},
		{"at expiry", link, time.Unix(exp, 0), "expired"},
		{"unsigned", "http://example.com/files/j1/c1.mp4", now, "not signed"},
		{"bad expiry", "http://example.com/files/j1/c1.mp4?expires=x&signature=" + q.Get("signature"), now, "not signed"},
		{"other path", "http://example.com/files/j1/c2.mp4?" + u.RawQuery, now, "not valid"},
		{"later expiry", "http://example.com/files/j1/c1.mp4?expires=9999999999&signature=" + q.Get("signature"), now, "not valid"},
		{"other secret", (&Signer{Secret: []byte("t")}).URL("http://example.com", "/files/j1/c1.mp4", exp), now, "not valid"},
	} {
		err := s.Check(httptest.NewRequest("GET", tc.target, nil), tc.at)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// Expiry is a whole hour at least TTL away, so URLs made within the same
// hour are the same.
func TestExpiry(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	for _, tc := range []struct {
		ttl  time.Duration
		want time.Time
	}{
		{0, time.Date(2026, 3, 8, 11, 0, 0, 0, time.UTC)},
		{time.Hour, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
	} {
		s := &Signer{Secret: []byte("s"), TTL: tc.ttl}
		if got := s.Expiry(now); got != tc.want.Unix() {
			t.Errorf("TTL %v: expiry %v, want %v", tc.ttl, time.Unix(got, 0).UTC(), tc.want)
		}
		if s.Expiry(now.Add(30*time.Minute)) != s.Expiry(now) {
			t.Errorf("TTL %v: the expiry moved within the hour", tc.ttl)
		}
	}
}

// Present signs each file of each completed clip under /files/<job>/, sets
// the expiry on clips with a video, leaves failed clips alone, and does not
// change the job it was given.
func TestPresent(t *testing.T) {
	s := &Signer{Secret: []byte("s")}
	now := time.Unix(1_700_000_000, 0)
	j := clipping.Job{ID: "j1", Clips: []clipping.Clip{
		{ID: "c1", VideoURL: clipping.Ptr("c1.mp4"), ThumbnailURL: clipping.Ptr("c1.jpg"),
			CaptionsSRTURL: clipping.Ptr("c1.srt"), CaptionsVTTURL: clipping.Ptr("")},
		{ID: "c2", Status: clipping.ClipFailed},
	}}
	got := s.Present(j, "https://clips.example.com", now)
	exp := s.Expiry(now)
	c := got.Clips[0]
	for file, u := range map[string]*string{"c1.mp4": c.VideoURL, "c1.jpg": c.ThumbnailURL, "c1.srt": c.CaptionsSRTURL} {
		if want := s.URL("https://clips.example.com", "/files/j1/"+file, exp); u == nil || *u != want {
			t.Errorf("%s: %v, want %s", file, u, want)
			continue
		}
		// And the link passes the check the file server makes.
		r := httptest.NewRequest("GET", *u, nil)
		if err := s.Check(r, now); err != nil || r.URL.Path != "/files/j1/"+file {
			t.Errorf("%s: the presented link %s fails the check: %v", file, *u, err)
		}
	}
	if c.CaptionsVTTURL == nil || *c.CaptionsVTTURL != "" {
		t.Errorf("an empty name became %v", c.CaptionsVTTURL)
	}
	if c.ExpiresAt == nil || *c.ExpiresAt != exp {
		t.Errorf("expires_at %v, want %d", c.ExpiresAt, exp)
	}
	if f := got.Clips[1]; f.VideoURL != nil || f.ExpiresAt != nil {
		t.Errorf("failed clip %+v", f)
	}
	if *j.Clips[0].VideoURL != "c1.mp4" {
		t.Error("Present changed the stored job's clips")
	}
}
