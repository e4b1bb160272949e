package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// selectorSeeds are valid and invalid selectors; they seed FuzzSelector.
var selectorSeeds = []string{
	"", "all()", "has(rack)", "!has(example.com/rack)", "rack == 'r1'",
	`rack != "r1"`, "rack in {'a', 'b'}", "rack not in {}", "a == 'x' && b == 'y' || !c in {'z'}",
	"((a == 'x'))", "!!has(a)", "has == 'x'", "all == 'x' && not not in {'in'}",
	`a == "it's"`, "a == 'x' &&", "has(", "a = 'b'", "a == 'x", "(a == 'x'", "a in {'x',}",
	"é == 'x'", "a == 'ü' && b == 'x'", strings.Repeat("(", 70) + "all()" + strings.Repeat(")", 70),
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form
	}{
		{"", ""},
		{"   \t\n", ""},
		{"all()", "all()"},
		{"all( )", "all()"},
		{"has(rack)", "has(rack)"},
		{"has( example.com/rack )", "has(example.com/rack)"},
		{"!has(route-reflector)", "!has(route-reflector)"},
		{"rack=='r1'", "rack == 'r1'"},
		{`rack == "r1"`, "rack == 'r1'"},
		{`rack != "r1"`, "rack != 'r1'"},
		{"a_b.c-d/e_f == ''", "a_b.c-d/e_f == ''"},
		{`name == "it's"`, `name == "it's"`},
		{`name == 'say "hi"'`, `name == 'say "hi"'`},
		{"rack in {'b','a', \"b\"}", "rack in {'a', 'b'}"},
		{"rack not in {'x'}", "rack not in {'x'}"},
		{"rack in {}", "rack in {}"},
		{"a == 'x' && b == 'y' && c == 'z'", "a == 'x' && b == 'y' && c == 'z'"},
		{"a == 'x' && (b == 'y' && c == 'z')", "a == 'x' && b == 'y' && c == 'z'"},
		{"(a == 'x' || b == 'y') || c == 'z'", "a == 'x' || b == 'y' || c == 'z'"},
		{"a == 'x' || b == 'y' && c == 'z'", "a == 'x' || b == 'y' && c == 'z'"},
		{"(a == 'x' || b == 'y') && c == 'z'", "(a == 'x' || b == 'y') && c == 'z'"},
		{"!a == 'x'", "!(a == 'x')"},
		{"!(a == 'x' && b == 'y')", "!(a == 'x' && b == 'y')"},
		{"!!has(a)", "!!has(a)"},
		{"((has(a)))", "has(a)"},
		{"has == 'x'", "has == 'x'"},
		{"all != 'x'", "all != 'x'"},
		{"in in {'in'}", "in in {'in'}"},
		{"not not in {'x'}", "not not in {'x'}"},
		{"a == 'x'\n  && b == 'y'", "a == 'x' && b == 'y'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseSelector(tt.in)
			if err != nil {
				t.Fatalf("ParseSelector: %v", err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if s.IsZero() != (tt.want == "") {
				t.Errorf("IsZero() = %v", s.IsZero())
			}
			again := MustParseSelector(s.String())
			if !again.Equal(s) {
				t.Errorf("the canonical form %q parses to a different selector", s)
			}
		})
	}
}

func TestParseSelectorErrors(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		want string
	}{
		{"rack", 5, "expected ==, !=, in or not in after rack, got the end"},
		{"rack == r1", 9, `expected a quoted value after ==, got "r1"`},
		{"rack = 'r1'", 6, "a single '=' (write ==)"},
		{"a == 'x' & b == 'y'", 10, "a single '&' (write &&)"},
		{"a == 'x' | b == 'y'", 10, "a single '|' (write ||)"},
		{"rack == 'r1", 9, "the value has no closing '"},
		{`rack == "r1`, 9, `the value has no closing "`},
		{"has(rack", 9, "expected ')' after has(rack, got the end"},
		{"has()", 5, "expected a label in has(), got ')'"},
		{"all(x)", 5, "expected ')' after all(, got \"x\""},
		{"(a == 'x'", 10, "expected ')' to close the '(' at column 1, got the end"},
		{"a == 'x' &&", 12, "expected a label, has(label), all(), '!' or '(', got the end"},
		{"a == 'x' b == 'y'", 10, `expected &&, || or the end, got "b"`},
		{"a == 'x')", 9, "expected &&, || or the end, got ')'"},
		{"()", 2, "expected a label, has(label), all(), '!' or '(', got ')'"},
		{"a in 'x'", 6, "expected '{', got the value 'x'"},
		{"a in {'x',}", 11, "expected a quoted value, got '}'"},
		{"a in {'x' 'y'}", 11, "expected ',' or '}', got the value 'y'"},
		{"a not {'x'}", 7, "expected in after not, got '{'"},
		{"a == 'x' && ü == 'y'", 13, "unexpected character 'ü'"},
		{"a == 'ü' && @", 13, "unexpected character '@'"},
		{"{", 1, "expected a label, has(label), all(), '!' or '(', got '{'"},
		{strings.Repeat("!", 70) + "all()", 65, "nested too deeply (more than 64 levels of ! and parentheses)"},
		{strings.Repeat("(", 70) + "all()" + strings.Repeat(")", 70), 65, "nested too deeply (more than 64 levels of ! and parentheses)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseSelector(tt.in)
			if err == nil {
				t.Fatalf("ParseSelector succeeded: %q", s)
			}
			var se *SelectorError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SelectorError", err)
			}
			want := &SelectorError{Selector: tt.in, Column: tt.col, Reason: tt.want}
			if diff := cmp.Diff(want, se); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	rackA := map[string]string{"rack": "a", "example.com/role": "reflector", "empty": ""}
	rackB := map[string]string{"rack": "b"}
	none := map[string]string{}
	tests := []struct {
		sel  string
		want [3]bool // rackA, rackB, none
	}{
		{"", [3]bool{true, true, true}},
		{"all()", [3]bool{true, true, true}},
		{"has(rack)", [3]bool{true, true, false}},
		{"!has(rack)", [3]bool{false, false, true}},
		{"has(empty)", [3]bool{true, false, false}},
		{"empty == ''", [3]bool{true, false, false}},
		{"rack == 'a'", [3]bool{true, false, false}},
		{"rack != 'a'", [3]bool{false, true, true}},
		{"rack in {'a', 'b'}", [3]bool{true, true, false}},
		{"rack in {}", [3]bool{false, false, false}},
		{"rack not in {'a'}", [3]bool{false, true, true}},
		{"rack not in {}", [3]bool{true, true, true}},
		{"has(rack) && rack != 'a'", [3]bool{false, true, false}},
		{"example.com/role == 'reflector' || !has(rack)", [3]bool{true, false, true}},
		{"!(rack == 'a' || rack == 'b')", [3]bool{false, false, true}},
		{"(rack == 'a' || rack == 'b') && !has(example.com/role)", [3]bool{false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s := MustParseSelector(tt.sel)
			got := [3]bool{s.Matches(rackA), s.Matches(rackB), s.Matches(none)}
			if got != tt.want {
				t.Errorf("Matches(rack a, rack b, no labels) = %v, want %v", got, tt.want)
			}
			if s.Matches(nil) != tt.want[2] {
				t.Errorf("Matches(nil) = %v, want %v", s.Matches(nil), tt.want[2])
			}
		})
	}
}

func TestSelectorMatchingDoesNotAllocate(t *testing.T) {
	s := MustParseSelector("(rack in {'a', 'b', 'c'} || !has(x)) && zone != 'eu' && !(role == 'rr')")
	labels := map[string]string{"rack": "c", "zone": "us", "role": "client"}
	if n := testing.AllocsPerRun(100, func() { s.Matches(labels) }); n != 0 {
		t.Errorf("Matches allocates %v times per call", n)
	}
}

func TestSelectorJSON(t *testing.T) {
	var v struct {
		S Selector `json:"s,omitempty"`
	}
	if err := json.Unmarshal([]byte(`{"s": "rack in {\"b\", \"a\"}"}`), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"s":"rack in {'a', 'b'}"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	v.S = nil
	if b, _ := json.Marshal(v); string(b) != `{}` {
		t.Errorf("an unset selector marshals as %s, want it left out", b)
	}
	err = json.Unmarshal([]byte(`{"s": "rack =="}`), &v)
	if err == nil || !strings.Contains(err.Error(), `selector "rack ==": column 8: expected a quoted value after ==, got the end`) {
		t.Errorf("Unmarshal of a bad selector: %v", err)
	}
}

// Selectors in resources: syntax errors name the file, document, field
// and column; label rules apply to what a selector tests.
func TestSelectorInConfig(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{
			name: "syntax error",
			src:  doc("LoadBalancer", "lb", "  address: 198.51.100.1\n  nodeSelector: rack == 'r1' && (zone == 'a'\n"),
			want: `godwit.yaml: document 1 (LoadBalancer "lb"), line 6: spec.nodeSelector: selector "rack == 'r1' && (zone == 'a'": column 29: expected ')' to close the '(' at column 17, got the end`,
		},
		{
			name: "the matchLabels form",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, nodeSelector: {rack: a, example.com/zone: eu}}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.nodeSelector: must be a selector expression in Calico's syntax, such as rack == 'r1', got a mapping (write the labels as example.com/zone == 'eu' && rack == 'a')`,
		},
		{
			name: "not a string",
			src:  hdrPeer + "spec: {peerAddress: 10.0.1.2, peerASN: 65100, nodeSelector: true}\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 4: spec.nodeSelector: must be a selector expression in Calico's syntax, such as rack == 'r1', got boolean true`,
		},
		{
			name: "unquoted negation",
			src:  hdrPeer + "spec:\n  peerAddress: 10.0.1.2\n  peerASN: 65100\n  nodeSelector: !has(x)\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 7: spec.nodeSelector: unsupported tag !has(x) (quote a value that starts with '!')`,
		},
		{
			name: "labels that no resource can have",
			src:  hdrPeer + "spec:\n  peerSelector: \"-rack == 'a' || rack in {'a b', 'c'} || has(-rack)\"\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 5: spec.peerSelector: the key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "-rack"
godwit.yaml: document 1 (BGPPeer "router"), line 5: spec.peerSelector: the value must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "a b"`,
		},
		{
			name: "peerSelector with peerASN",
			src:  hdrPeer + "spec:\n  peerSelector: has(rr)\n  peerASN: 65100\n",
			want: `godwit.yaml: document 1 (BGPPeer "router"), line 6: spec.peerASN: cannot be combined with peerSelector (each selected Node's AS is used)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("godwit.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want:\n%s", tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectorFieldUnsetWhenEmpty(t *testing.T) {
	rs := mustParse(t, hdrPeer+"spec: {peerAddress: 10.0.1.2, peerASN: 65100, nodeSelector: \"\", peerSelector: \" \"}\n")
	s := rs[0].Spec.(*BGPPeerSpec)
	if !s.NodeSelector.IsZero() || !s.PeerSelector.IsZero() {
		t.Errorf("empty selectors are set: %q, %q", s.NodeSelector, s.PeerSelector)
	}
	out, err := Marshal(rs, PrintOptions{})
	if err != nil || strings.Contains(string(out), "Selector") {
		t.Errorf("empty selectors are printed (%v):\n%s", err, out)
	}
}

// FuzzSelector: parsing never panics, errors carry a column inside the
// text (or just after it), and a parsed selector's String parses to an
// equal selector that prints the same.
func FuzzSelector(f *testing.F) {
	for _, s := range selectorSeeds {
		f.Add(s)
	}
	labels := map[string]string{"a": "x", "rack": "r1", "example.com/rack": "", "in": "in"}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSelector(in)
		if err != nil {
			var se *SelectorError
			if !errors.As(err, &se) || se.Reason == "" || se.Selector != in {
				t.Fatalf("bad error for %q: %#v", in, err)
			}
			if n := len([]rune(in)); se.Column < 1 || se.Column > n+1 {
				t.Fatalf("column %d outside %q", se.Column, in)
			}
			return
		}
		text := s.String()
		again, err := ParseSelector(text)
		if err != nil {
			t.Fatalf("the canonical form %q of %q does not parse: %v", text, in, err)
		}
		if !again.Equal(s) || again.String() != text {
			t.Fatalf("%q: canonical form %q parses to %q", in, text, again)
		}
		if s.Matches(labels) != again.Matches(labels) {
			t.Fatalf("%q and its canonical form %q match differently", in, text)
		}
	})
}
