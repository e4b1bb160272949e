package nlri

import (
	"testing"
)

func TestRD(t *testing.T) {
	tests := []struct {
		name string
		in   string
		typ  uint16
		hex  RD
		out  string // String of the parsed RD when it differs from in
	}{
		{"type 0", "65000:100", 0, RD{0, 0, 0xfd, 0xe8, 0, 0, 0, 0x64}, ""},
		{"type 0, 4-octet assigned", "3215:583457597", 0, RD{0, 0, 0x0c, 0x8f, 0x22, 0xc6, 0xdb, 0x3d}, ""},
		{"type 0, zero", "0:0", 0, RD{}, ""},
		{"type 0, AS 65535", "65535:4294967295", 0, RD{0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{"type 1", "192.0.2.1:100", 1, RD{0, 1, 192, 0, 2, 1, 0, 0x64}, ""},
		{"type 2", "4200000001:100", 2, RD{0, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0x64}, ""},
		{"type 2, AS 65536", "65536:65535", 2, RD{0, 2, 0, 1, 0, 0, 0xff, 0xff}, ""},
		{"type 2 from asdot", "1.10:5", 2, RD{0, 2, 0, 1, 0, 10, 0, 5}, "65546:5"},
		{"type 2 from asdot with a small AS", "0.100:5", 2, RD{0, 2, 0, 0, 0, 100, 0, 5}, "100:5"},
		{"unassigned type as hex", "0x0003010203040506", 3, RD{0, 3, 1, 2, 3, 4, 5, 6}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := ParseRD(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if rd != tt.hex {
				t.Errorf("ParseRD = % x, want % x", rd[:], tt.hex[:])
			}
			if rd.Type() != tt.typ {
				t.Errorf("Type = %d, want %d", rd.Type(), tt.typ)
			}
			want := tt.in
			if tt.out != "" {
				want = tt.out
			}
			if rd.String() != want {
				t.Errorf("String = %q, want %q", rd.String(), want)
			}
			if NewRD(rd.Type(), rd.Value()) != rd {
				t.Error("NewRD(Type, Value) differs")
			}
		})
	}
}

func TestParseRDErrors(t *testing.T) {
	for _, s := range []string{
		"", "65000", ":100", "65000:", "x:1", "65000:-1",
		"65000:4294967296",       // assigned number past 32 bits
		"65536:65536",            // 4-octet AS with an assigned number past 16 bits
		"192.0.2.1:65536",        // IPv4 with an assigned number past 16 bits
		"2001:db8::1:5",          // IPv6 administrator
		"4294967296:1",           // AS past 32 bits
		"1.65536:1",              // asdot half past 16 bits
		"0x00030102030405",       // hex too short
		"0x000301020304050g",     // not hex
		"192.0.2.1:100:10.0.0.0", // trailing text
	} {
		if rd, err := ParseRD(s); err == nil {
			t.Errorf("ParseRD(%q) = %v, want an error", s, rd)
		}
	}
}

func TestFormatAdmin(t *testing.T) {
	tests := []struct {
		typ uint16
		v   [6]byte
		s   string
	}{
		{0, [6]byte{0xfd, 0xe8, 0, 0, 0, 0x64}, "65000:100"},
		{1, [6]byte{10, 0, 0, 1, 0, 7}, "10.0.0.1:7"},
		{2, [6]byte{0, 1, 0, 0, 0, 9}, "65536:9"},
		{9, [6]byte{1, 2, 3, 4, 5, 6}, "0x010203040506"},
	}
	for _, tt := range tests {
		if got := FormatAdmin(tt.typ, tt.v); got != tt.s {
			t.Errorf("FormatAdmin(%d, % x) = %q, want %q", tt.typ, tt.v[:], got, tt.s)
		}
		if tt.typ > 2 {
			continue
		}
		typ, v, err := ParseAdmin(tt.s)
		if err != nil || typ != tt.typ || v != tt.v {
			t.Errorf("ParseAdmin(%q) = %d, % x, %v", tt.s, typ, v[:], err)
		}
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		l     Label
		value uint32
		tc    uint8
		bos   bool
		s     string
	}{
		{NewLabel(1000, true), 1000, 0, true, "1000/bos"},
		{NewLabel(1000, false), 1000, 0, false, "1000"},
		{NewLabel(0xfffff, true), 0xfffff, 0, true, "1048575/bos"},
		{NewLabel(0x1fffff, false), 0xfffff, 0, false, "1048575"}, // bits past 20 dropped
		{Label(0x003e8b), 1000, 5, true, "1000/tc=5/bos"},
		{WithdrawLabel, 0x80000, 0, false, "524288"},
		{CompatLabel, 0, 0, false, "0"},
	}
	for _, tt := range tests {
		if tt.l.Value() != tt.value || tt.l.TC() != tt.tc || tt.l.BOS() != tt.bos || tt.l.String() != tt.s {
			t.Errorf("label %#06x: value %d tc %d bos %v %q; want %d %d %v %q",
				uint32(tt.l), tt.l.Value(), tt.l.TC(), tt.l.BOS(), tt.l.String(), tt.value, tt.tc, tt.bos, tt.s)
		}
	}
	if NewLabel(1000, true) != 0x003e81 {
		t.Errorf("NewLabel(1000, true) = %#x, want 0x3e81", uint32(NewLabel(1000, true)))
	}
}

func TestESIAndMAC(t *testing.T) {
	e := ESI{0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99}
	if e.String() != "00:11:22:33:44:55:66:77:88:99" || e.Type() != 0 {
		t.Errorf("ESI %s type %d", e, e.Type())
	}
	if got, err := ParseESI(e.String()); err != nil || got != e {
		t.Errorf("ParseESI round trip: %v %v", got, err)
	}
	for _, s := range []string{"", "00:11", "00:11:22:33:44:55:66:77:88:9", "00:11:22:33:44:55:66:77:88:zz", "00:11:22:33:44:55:66:77:88:99:aa"} {
		if _, err := ParseESI(s); err == nil {
			t.Errorf("ParseESI(%q) accepted", s)
		}
	}
	m := MAC{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	if m.String() != "aa:bb:cc:dd:ee:ff" {
		t.Errorf("MAC %s", m)
	}
	if got, err := ParseMAC("AA-BB-CC-DD-EE-FF"); err != nil || got != m {
		t.Errorf("ParseMAC: %v %v", got, err)
	}
	if _, err := ParseMAC("00:00:5e:10:00:00:00:01"); err == nil {
		t.Error("ParseMAC accepted an EUI-64")
	}
}
