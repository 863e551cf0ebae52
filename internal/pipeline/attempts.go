package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Attempts. An upload is one set of bytes with one set of settings
// (deriveID); an attempt is one job and one execution for it. Attempt 1's
// Idempotency-Key and execution name are the upload's own, so that S3
// repeating an event changes nothing. Each failed attempt leaves a marker,
//
//	failed/.attempts/<video name>/<upload>/<attempt>-<Last-Modified>.json
//
// beside failed/<video name>.json, so that uploading the same bytes again
// (a new Last-Modified time) starts the next attempt, under a new key and
// name. Markers sit under failed/ and carry what submit needs in their
// keys: the submit function may list the bucket and write failed/, but
// not read it.

// AttemptsDir holds the markers of failed attempts.
const AttemptsDir = "failed/.attempts/"

func markerPrefix(name, upload string) string {
	return AttemptsDir + name + "/" + upload[:16] + "/"
}

func markerKey(name, upload string, attempt int, modified time.Time) string {
	return markerPrefix(name, upload) + fmt.Sprintf("%d-%d.json", attempt, stamp(modified))
}

// stamp is an upload's Last-Modified time in Unix seconds, 0 if unknown.
func stamp(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// parseMarker reads a marker's attempt and upload time from its file name.
func parseMarker(file string) (attempt int, modified int64, ok bool) {
	a, m, ok := strings.Cut(strings.TrimSuffix(file, ".json"), "-")
	if !ok {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(a)
	t, err2 := strconv.ParseInt(m, 10, 64)
	return n, t, err1 == nil && err2 == nil && n > 0
}

// attempt numbers the next attempt at an upload: 1 + the highest failed
// one. failed is true when this very upload (same Last-Modified) has
// failed and its failure record is still there: S3 repeating the upload's
// event, which must change nothing. With the record gone (deleted by
// hand), the upload has no outcome, and the next attempt runs.
func (p *Pipeline) attempt(ctx context.Context, name, upload string, modified time.Time) (n int, failed bool, err error) {
	prefix := markerPrefix(name, upload)
	keys, err := p.Bucket.List(ctx, prefix)
	if err != nil {
		return 0, false, err
	}
	n, again := 1, false
	for _, k := range keys {
		a, t, ok := parseMarker(strings.TrimPrefix(k, prefix))
		if !ok {
			continue
		}
		n = max(n, a+1)
		again = again || t == stamp(modified)
	}
	if !again {
		return n, false, nil
	}
	recorded, err := p.listed(ctx, FailureKey(name))
	return n, recorded, err
}

// listed reports whether a key exists, by listing: submit may not read
// failed/.
func (p *Pipeline) listed(ctx context.Context, key string) (bool, error) {
	keys, err := p.Bucket.List(ctx, key)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k == key {
			return true, nil
		}
	}
	return false, nil
}

// attemptID is the Idempotency-Key of an attempt: the upload's id for the
// first, so that keys made before attempts existed still match.
func attemptID(upload string, attempt int) string {
	if attempt <= 1 {
		return upload
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\nattempt %d", upload, attempt)))
	return hex.EncodeToString(sum[:])[:len(upload)]
}
