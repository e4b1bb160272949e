package crosscheck

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/godwit-bgp/godwit/wire"
)

// decodeUpdate decodes one whole generated message with godwit; every
// generated message is valid, so any fault is an error.
func decodeUpdate(raw []byte) (*wire.Update, error) {
	m, err := wire.Decode(raw, session)
	if err != nil {
		return nil, err
	}
	u, ok := m.(*wire.Update)
	if !ok {
		return nil, fmt.Errorf("decoded as %T, not an UPDATE", m)
	}
	if len(u.Faults) > 0 {
		return nil, fmt.Errorf("faults: %v", u.Faults)
	}
	return u, nil
}

// TestRoundTrip decodes every generated message with godwit and checks
// that it says what the generator encoded (the routes of a Packer run
// across all its messages, in order) and that encoding the decoded UPDATE
// gives back the same octets. It also reads the attribute headers itself
// and checks the flags the encoder wrote against the RFCs (the view does
// not hold flags, and the other decoders do not check them).
func TestRoundTrip(t *testing.T) {
	c := getCorpus(t)
	failures := 0
	for _, gr := range c.groups {
		if failures >= 10 {
			t.Fatalf("stopping after %d failing groups", failures)
		}
		var got view
		var attrsOf *view // attributes of the first announcing message
		ok := true
		for i, raw := range gr.msgs {
			fail := func(format string, args ...any) {
				t.Errorf("group %d (%s) message %d of %d: %s\nhex: %s", gr.id, gr.kind, i+1, len(gr.msgs),
					fmt.Sprintf(format, args...), hex.EncodeToString(raw))
				ok = false
			}
			if len(raw) > wire.MaxLen {
				fail("%d octets, more than %d", len(raw), wire.MaxLen)
			}
			u, err := decodeUpdate(raw)
			if err != nil {
				fail("godwit cannot decode it: %v", err)
				continue
			}
			if err := checkAttrHeaders(raw); err != nil {
				fail("%v", err)
			}
			if re := u.AppendTo(nil, session); !bytes.Equal(re, raw) {
				fail("encode(decode(b)) differs from b:\nre-encoded: %s", hex.EncodeToString(re))
			}
			v := godwitView(u)
			got.Announce = append(got.Announce, v.Announce...)
			got.Withdraw = append(got.Withdraw, v.Withdraw...)
			a := v
			a.Announce, a.Withdraw = nil, nil
			if len(v.Announce) == 0 {
				// Withdrawals go without attributes (RFC 4271 §4.3
				// allows them; NewUpdate and the Packer drop them).
				if d := cmp.Diff(view{}, a); d != "" {
					fail("a message that announces nothing carries attributes (-none +got):\n%s", d)
				}
				continue
			}
			if attrsOf == nil {
				attrsOf = &a
				continue
			}
			if d := cmp.Diff(*attrsOf, a); d != "" {
				fail("attributes differ from the group's first announcing message (-first +this):\n%s", d)
			}
		}
		if attrsOf != nil {
			a := *attrsOf
			a.Announce, a.Withdraw = got.Announce, got.Withdraw
			got = a
		}
		if d := cmp.Diff(gr.want, got); d != "" {
			t.Errorf("group %d (%s): godwit decodes something else than was encoded (-encoded +decoded):\n%s",
				gr.id, gr.kind, d)
			ok = false
		}
		if !ok {
			failures++
		}
	}
	t.Logf("%d messages (%d groups, seed %d) decoded and re-encoded byte for byte", len(c.msgs), len(c.groups), c.seed)
}

// rfcFlags are the Optional and Transitive bits each attribute of the
// corpus must have: RFC 4271 §5 (well-known attributes are transitive,
// MULTI_EXIT_DISC optional non-transitive, AGGREGATOR optional
// transitive), RFC 1997 §3, RFC 4456 §7 and §8, RFC 4760 §3 and §4,
// RFC 4360 §2, RFC 8092 §3.
var rfcFlags = map[byte]byte{
	1:  0x40, // ORIGIN
	2:  0x40, // AS_PATH
	3:  0x40, // NEXT_HOP
	4:  0x80, // MULTI_EXIT_DISC
	5:  0x40, // LOCAL_PREF
	6:  0x40, // ATOMIC_AGGREGATE
	7:  0xc0, // AGGREGATOR
	8:  0xc0, // COMMUNITIES
	9:  0x80, // ORIGINATOR_ID
	10: 0x80, // CLUSTER_LIST
	14: 0x80, // MP_REACH_NLRI
	15: 0x80, // MP_UNREACH_NLRI
	16: 0xc0, // EXTENDED_COMMUNITIES
	32: 0xc0, // LARGE_COMMUNITY
}

// checkAttrHeaders walks the path attributes of a whole UPDATE and checks
// each header: a code the corpus uses, at most once, with the Optional
// and Transitive bits of rfcFlags, the Partial bit clear (we originate
// these) and the unused bits clear. (The Extended Length bit may be set on
// any attribute; the lengths must add up.)
func checkAttrHeaders(msg []byte) error {
	body := msg[19:]
	if len(body) < 4 {
		return fmt.Errorf("body of %d octets", len(body))
	}
	wl := int(binary.BigEndian.Uint16(body))
	if 2+wl+2 > len(body) {
		return fmt.Errorf("withdrawn routes length %d overruns the body", wl)
	}
	al := int(binary.BigEndian.Uint16(body[2+wl:]))
	attrs := body[4+wl:]
	if al > len(attrs) {
		return fmt.Errorf("path attribute length %d overruns the body", al)
	}
	attrs = attrs[:al]
	seen := map[byte]bool{}
	for len(attrs) > 0 {
		if len(attrs) < 3 {
			return fmt.Errorf("%d octets left after the last attribute", len(attrs))
		}
		flags, code := attrs[0], attrs[1]
		n, hdr := int(attrs[2]), 3
		if flags&0x10 != 0 {
			if len(attrs) < 4 {
				return fmt.Errorf("attribute %d: extended length cut short", code)
			}
			n, hdr = int(binary.BigEndian.Uint16(attrs[2:])), 4
		}
		if hdr+n > len(attrs) {
			return fmt.Errorf("attribute %d of %d octets overruns the attributes", code, n)
		}
		want, ok := rfcFlags[code]
		switch {
		case !ok:
			return fmt.Errorf("attribute %d: not a code the corpus uses", code)
		case seen[code]:
			return fmt.Errorf("attribute %d twice", code)
		case flags&0xc0 != want:
			return fmt.Errorf("attribute %d has flags %#02x, RFC: optional/transitive bits %#02x", code, flags, want)
		case flags&0x20 != 0:
			return fmt.Errorf("attribute %d has the Partial bit set (flags %#02x)", code, flags)
		case flags&0x0f != 0:
			return fmt.Errorf("attribute %d has unused flag bits set (flags %#02x)", code, flags)
		}
		seen[code] = true
		attrs = attrs[hdr+n:]
	}
	return nil
}
