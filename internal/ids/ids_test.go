package ids

import (
	"encoding/hex"
	"testing"
)

func TestNew(t *testing.T) {
	a, b := New(), New()
	if len(a) != 32 || a == b {
		t.Fatalf("ids %q and %q", a, b)
	}
}

func TestHex(t *testing.T) {
	for _, n := range []int{0, 8, 24} {
		s := Hex(n)
		if b, err := hex.DecodeString(s); err != nil || len(b) != n {
			t.Errorf("Hex(%d) = %q", n, s)
		}
	}
	if Hex(24) == Hex(24) {
		t.Error("two secrets are the same")
	}
}
