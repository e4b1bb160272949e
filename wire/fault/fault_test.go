package fault

import (
	"fmt"
	"testing"

	"github.com/godwit-bgp/godwit/wire/iana"
)

func TestWorst(t *testing.T) {
	discard := Attribute(AttributeDiscard, iana.UpdateAttributeLengthError, iana.AttrAtomicAggregate, nil, "x")
	withdraw := Attribute(TreatAsWithdraw, iana.UpdateInvalidOriginAttribute, iana.AttrOrigin, nil, "y")
	reset := Update(SessionReset, iana.UpdateMalformedAttributeList, nil, "z")
	tests := []struct {
		name   string
		faults []*Error
		want   *Error
	}{
		{"none", nil, nil},
		{"one", []*Error{discard}, discard},
		{"withdraw beats discard", []*Error{discard, withdraw}, withdraw},
		{"reset beats all", []*Error{withdraw, reset, discard}, reset},
		{"nil entries", []*Error{nil, discard, nil}, discard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Worst(tt.faults); got != tt.want {
				t.Errorf("Worst = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAsAndMessage(t *testing.T) {
	data := []byte{0x40, 0x01, 0x01, 0x07}
	f := Attribute(TreatAsWithdraw, iana.UpdateInvalidOriginAttribute, iana.AttrOrigin, data, "origin %d", 7)
	data[3] = 0 // the fault keeps its own copy
	if f.Data[3] != 7 {
		t.Fatal("Data aliases the caller's buffer")
	}
	wrapped := fmt.Errorf("peer 192.0.2.1: %w", f)
	if As(wrapped) != f {
		t.Fatal("As did not find the fault")
	}
	want := "UPDATE Message Error / Invalid ORIGIN Attribute (treat-as-withdraw) ORIGIN: origin 7"
	if f.Error() != want {
		t.Errorf("Error() = %q, want %q", f.Error(), want)
	}
}
