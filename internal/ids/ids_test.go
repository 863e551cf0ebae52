package ids

import "testing"

func TestNew(t *testing.T) {
	a, b := New(), New()
	if len(a) != 32 || a == b {
		t.Fatalf("ids %q and %q", a, b)
	}
}
