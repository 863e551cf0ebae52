// Package urlsign makes and checks the expiring URLs that clip files,
// assets and direct uploads are fetched through: a link works for anyone
// who holds it, and for nobody once it expires. The API checks them, and
// signs them into the jobs it answers with; the server signs them into
// the jobs that webhooks carry.
package urlsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/clipmill/clipmill/internal/clipping"
)

// Signer makes and checks expiring URLs with one secret.
type Signer struct {
	Secret []byte
	TTL    time.Duration // how long a URL lives; default 7 days
}

func (s *Signer) ttl() time.Duration {
	if s.TTL <= 0 {
		return 7 * 24 * time.Hour
	}
	return s.TTL
}

func (s *Signer) sign(path string, expires int64) string {
	m := hmac.New(sha256.New, s.Secret)
	fmt.Fprintf(m, "%s\n%d", path, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// Expiry is when a URL made now stops working. It is rounded up to the hour
// so that the URLs of a finished job stay the same for an hour.
func (s *Signer) Expiry(now time.Time) int64 {
	return now.Add(s.ttl()).Truncate(time.Hour).Add(time.Hour).Unix()
}

// URL signs path (beginning with /) on base.
func (s *Signer) URL(base, path string, expires int64) string {
	return fmt.Sprintf("%s%s?expires=%d&signature=%s", base, path, expires, s.sign(path, expires))
}

// Check verifies a request's signature and expiry in constant time. Its
// errors are sentences for the client.
func (s *Signer) Check(r *http.Request, now time.Time) error {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || q.Get("signature") == "" {
		return errors.New("This link is not signed.")
	}
	want := s.sign(r.URL.Path, exp)
	if !hmac.Equal([]byte(want), []byte(q.Get("signature"))) {
		return errors.New("This link's signature is not valid.")
	}
	if now.Unix() >= exp {
		return errors.New("This link has expired.")
	}
	return nil
}

// Present turns a stored job into what clients see: its clips' file names
// become URLs on base, under /files/<job>/, signed to expire together.
func (s *Signer) Present(j clipping.Job, base string, now time.Time) clipping.Job {
	exp := s.Expiry(now)
	clips := make([]clipping.Clip, len(j.Clips))
	for i, c := range j.Clips {
		sign := func(p *string) *string {
			if p == nil || *p == "" {
				return p
			}
			u := s.URL(base, "/files/"+url.PathEscape(j.ID)+"/"+url.PathEscape(*p), exp)
			return &u
		}
		c.VideoURL = sign(c.VideoURL)
		c.ThumbnailURL = sign(c.ThumbnailURL)
		c.CaptionsSRTURL = sign(c.CaptionsSRTURL)
		c.CaptionsVTTURL = sign(c.CaptionsVTTURL)
		if c.VideoURL != nil {
			c.ExpiresAt = clipping.Ptr(exp)
		}
		clips[i] = c
	}
	j.Clips = clips
	return j
}
