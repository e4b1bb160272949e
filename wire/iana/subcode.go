package iana

import "strconv"

// SubcodeString names a NOTIFICATION subcode in the code space its error code
// selects (RFC 4271 §4.5 and the registries that extend it).
func SubcodeString(code NotifCode, sub uint8) string {
	switch code {
	case NotifMessageHeader:
		return HeaderSubcode(sub).String()
	case NotifOpenMessage:
		return OpenSubcode(sub).String()
	case NotifUpdateMessage:
		return UpdateSubcode(sub).String()
	case NotifFSM:
		return FSMSubcode(sub).String()
	case NotifCease:
		return CeaseSubcode(sub).String()
	case NotifRouteRefresh:
		return RouteRefreshSubcode(sub).String()
	}
	if sub == 0 {
		return "Unspecific"
	}
	return "subcode-" + strconv.Itoa(int(sub))
}

// ValidNotification reports whether (code, sub) is a pair a speaker may send:
// the code is assigned and the subcode is assigned within it (or 0 where the
// code has no subcodes).
func ValidNotification(code NotifCode, sub uint8) bool {
	switch code {
	case NotifMessageHeader:
		return HeaderSubcode(sub).Known()
	case NotifOpenMessage:
		return OpenSubcode(sub).Known()
	case NotifUpdateMessage:
		return UpdateSubcode(sub).Known()
	case NotifFSM:
		return FSMSubcode(sub).Known()
	case NotifCease:
		return CeaseSubcode(sub).Known()
	case NotifRouteRefresh:
		return RouteRefreshSubcode(sub).Known()
	case NotifHoldTimerExpired, NotifSendHoldTimerExpired:
		return sub == 0
	}
	return false
}
