package attr

import (
	"encoding/hex"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func hexString(b []byte) string { return hex.EncodeToString(b) }
