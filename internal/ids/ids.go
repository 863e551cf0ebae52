// Package ids makes the random ids of jobs, clips, assets, webhook events
// and the jobs clipmill starts elsewhere, and the server's secrets: one
// source of randomness, so every id is as unguessable as the others.
package ids

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random 32-character hex id (128 bits).
func New() string { return Hex(16) }

// Hex returns n random bytes as 2n hex characters, for ids and secrets of
// other sizes.
func Hex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: since Go 1.24 it crashes the program instead
	return hex.EncodeToString(b)
}
