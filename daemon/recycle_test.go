package daemon

import (
	"runtime"
	"testing"
)

// TestRecycler: values come back last in, first out, up to the bound
// put is given, and a collection does not take them (a sync.Pool's may).
func TestRecycler(t *testing.T) {
	var r recycler[routeBatch]
	if r.get() != nil {
		t.Fatal("an empty recycler gave a value")
	}
	a, b, c := &routeBatch{}, &routeBatch{}, &routeBatch{}
	r.put(a, 2)
	r.put(b, 2)
	r.put(c, 2) // over the bound: dropped
	runtime.GC()
	runtime.GC()
	if got := r.get(); got != b {
		t.Errorf("first get: %p, want %p (the last kept)", got, b)
	}
	if got := r.get(); got != a {
		t.Errorf("second get: %p, want %p", got, a)
	}
	if got := r.get(); got != nil {
		t.Errorf("third get: %p, want nil (c was over the bound)", got)
	}
}
