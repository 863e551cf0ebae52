// Package ids makes the random ids of jobs, clips, assets and the jobs
// clipmill starts elsewhere.
package ids

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random 32-character hex id.
func New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}
