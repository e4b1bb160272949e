package wire

import (
	"testing"

	"github.com/godwit-bgp/godwit/wire/fault"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// faultOf returns err as a fault and fails the test unless it is one whose
// NOTIFICATION a speaker may send.
func faultOf(t testing.TB, err error) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	f := fault.As(err)
	if f == nil {
		t.Fatalf("error %v (%T) is not a *fault.Error", err, err)
	}
	if !iana.ValidNotification(f.Code, f.Subcode) {
		t.Fatalf("fault %v has no valid NOTIFICATION", f)
	}
	return f
}
