package pipeline

import (
	"context"
	"errors"
	"net/url"
)

// S3Record is one object-created notification, as S3 sends it: the key is
// URL-encoded, with '+' for spaces.
type S3Record struct {
	Bucket, Key, Version, ETag string
}

// SubmitRecords submits every record of one S3 event. It goes through all
// of them and returns the first retryable error, so that a redelivery
// retries what failed (what succeeded is a no-op the second time).
func (p *Pipeline) SubmitRecords(ctx context.Context, recs []S3Record) ([]Submitted, error) {
	var out []Submitted
	var first error
	for _, r := range recs {
		key, err := url.QueryUnescape(r.Key)
		if err != nil {
			out = append(out, Submitted{Key: r.Key, Skipped: "the key is not URL-encoded"})
			continue
		}
		s, err := p.Submit(ctx, Source{Bucket: r.Bucket, Key: key, Version: r.Version, ETag: r.ETag})
		out = append(out, s)
		if err != nil && first == nil {
			first = err
		}
	}
	var re *RetryableError
	if first != nil && !errors.As(first, &re) {
		first = &RetryableError{Msg: first.Error()}
	}
	return out, first
}
