package iana

import "testing"

func TestStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"attr known", AttrASPath.String(), "AS_PATH"},
		{"attr unknown", AttrCode(200).String(), "attrcode-200"},
		{"safi", SAFIEVPN.String(), "evpn"},
		{"cease subcode", SubcodeString(NotifCease, 9), "Hard Reset"},
		{"update subcode", SubcodeString(NotifUpdateMessage, 11), "Malformed AS_PATH"},
		{"hold timer", SubcodeString(NotifHoldTimerExpired, 0), "Unspecific"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestValidNotification(t *testing.T) {
	if !ValidNotification(NotifUpdateMessage, uint8(UpdateMalformedASPath)) {
		t.Error("Malformed AS_PATH must be valid")
	}
	if ValidNotification(NotifUpdateMessage, 7) {
		t.Error("deprecated AS routing loop subcode must not be sent")
	}
	if ValidNotification(NotifCode(0), 0) {
		t.Error("code 0 is not a NOTIFICATION code")
	}
}
