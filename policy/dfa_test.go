package policy

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godwit-bgp/godwit/config"
	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// dfaCase is an AS path expression compiled both ways.
type dfaCase struct {
	expr string
	re   *regexp.Regexp
	d    *pathDFA
}

// newDFACase compiles expr; false when it is not valid or has no automaton.
func newDFACase(expr string) (dfaCase, bool) {
	re, err := config.CompileASPathRegex(expr)
	if err != nil {
		return dfaCase{}, false
	}
	d, ok := compileDFA(re.String())
	return dfaCase{expr, re, d}, ok
}

// check compares the automaton with regexp on one path.
func (c dfaCase) check(t *testing.T, p *attr.ASPath) {
	t.Helper()
	text := appendPathText(nil, p)
	if text2 := p.String(); string(text) != text2 {
		t.Fatalf("appendPathText %q, String %q", text, text2)
	}
	want := c.re.Match(text)
	if got := c.d.matchPath(p); got != want {
		t.Fatalf("expr %q on %q: automaton %v, regexp %v", c.expr, text, got, want)
	}
	if got := c.d.matchText(text); got != want {
		t.Fatalf("expr %q on %q: automaton on text %v, regexp %v", c.expr, text, got, want)
	}
}

func TestDFAExamples(t *testing.T) {
	paths := []string{"", "65001", "65001 65002", "65001 65001 65002", "3356 {64512,65001} 7", "(64512 64513) [1,2] 65001",
		"1 22 333 4444 55555 666666 4200000000 4294967295", "0"}
	exprs := []string{"", "^$", ".*", "^65001_", "_65001_", "_65001$", "^65001$", "_6500[0-9]_", "^(65001_)+65002$",
		"_(6451[2-9]|645[2-9][0-9]|64[6-9][0-9][0-9]|65[0-4][0-9][0-9]|655[0-2][0-9]|6553[0-4])_",
		"\\{", "[{}]", "_64512_", "^\\(", "\\[1,2\\]", "^[0-9]+$", "^[0-9]+( [0-9]+)*$", "_$", "^_", "__", "(?i)65001",
		"^$|65001", "(^|_)65002", "65001 ?65002", "[^0-9 ]", "^.{5}$", "(?m)^65001$", "\\A65001", "65001\\z", "x", "é"}
	var ps []*attr.ASPath
	for _, s := range paths {
		p, err := attr.ParseASPath(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	ps = append(ps, nil, &attr.ASPath{Segments: []attr.Segment{{Type: iana.SegmentASSequence}, {Type: iana.SegmentASSet, ASNs: []uint32{1}}}})
	for _, e := range exprs {
		c, ok := newDFACase(e)
		if !ok {
			t.Errorf("expr %q has no automaton", e)
			continue
		}
		for _, p := range ps {
			c.check(t, p)
		}
	}
	// Word boundaries are left to regexp.
	if _, ok := compileDFA(`\b65001\b`); ok {
		t.Errorf(`\b compiled to an automaton`)
	}
}

// TestDFARandom compares the automaton with regexp on random expressions
// built from the pieces AS path expressions use, over random paths.
func TestDFARandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	asns := []uint32{1, 12, 65001, 65002, 64512, 4200000000, 123456}
	randPath := func() *attr.ASPath {
		p := &attr.ASPath{}
		for range rng.IntN(4) {
			s := attr.Segment{Type: []iana.SegmentType{iana.SegmentASSequence, iana.SegmentASSequence, iana.SegmentASSet,
				iana.SegmentConfedSequence, iana.SegmentConfedSet}[rng.IntN(5)]}
			for range 1 + rng.IntN(3) {
				s.ASNs = append(s.ASNs, asns[rng.IntN(len(asns))])
			}
			p.Segments = append(p.Segments, s)
		}
		return p
	}
	atoms := []string{"65001", "65002", "6451[2-9]", "[0-9]", "[1-3]", ".", "_", "^", "$", " ", "\\{", "\\}", ",",
		"\\(", "\\[", "1", "2", "12", "[^ ]", "4200000000"}
	var gen func(depth int) string
	gen = func(depth int) string {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			var piece string
			if depth < 2 && rng.IntN(5) == 0 {
				piece = "(" + gen(depth+1) + "|" + gen(depth+1) + ")"
			} else {
				piece = atoms[rng.IntN(len(atoms))]
			}
			switch rng.IntN(8) {
			case 0:
				piece = "(?:" + piece + ")*"
			case 1:
				piece = "(?:" + piece + ")+"
			case 2:
				piece = "(?:" + piece + ")?"
			case 3:
				piece = "(?:" + piece + "){1,3}"
			}
			b.WriteString(piece)
		}
		return b.String()
	}
	fallbacks := 0
	n := 3000
	if raceEnabled {
		n = 1000
	}
	for range n {
		c, ok := newDFACase(gen(0))
		if !ok {
			fallbacks++
			continue
		}
		for range 20 {
			c.check(t, randPath())
		}
	}
	if fallbacks > n/100 {
		t.Errorf("%d of %d expressions have no automaton", fallbacks, n)
	}
}

// TestDFABounded checks that a large expression does not make Compile
// slow: it falls back to regexp instead.
func TestDFABounded(t *testing.T) {
	// Every 2^n combination of the last n symbols matters: the classic
	// exponential DFA.
	e := "[0-9](?:[0-9 ]){20}$"
	start := time.Now()
	if _, ok := compileDFA(e); ok {
		t.Errorf("%q: an automaton of more than %d states was built", e, maxDFAStates)
	}
	long := strings.Repeat("(?:[0-9]{1,3} ?|_){1,3}", 40)
	compileDFA(long)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("building took %v", d)
	}
	// The policy still works, on regexp.
	p := policyOf(t, fmt.Sprintf("statements:\n- name: s\n  conditions: {asPathRegex: %q}\n  actions: {result: accept}\n", e))
	if p.stmts[0].cond.dfa != nil || p.stmts[0].cond.regex == nil {
		t.Fatalf("expected the regexp fallback")
	}
	r := route4(t, "10.0.0.0/8", "aspath 1 22 333 4444 55555 666666")
	if !p.Eval(r, Env{}).Accept {
		t.Errorf("fallback regexp did not match")
	}
}

// FuzzASPathRegex compares the automaton with regexp on any expression and
// path.
func FuzzASPathRegex(f *testing.F) {
	f.Add("_65001_", []byte{2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xea})
	f.Add("^(65001_)+65002$", []byte{2, 3, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xe9, 0, 0, 0xfd, 0xea})
	f.Add("_6451[2-9]_", []byte{1, 2, 0, 0, 0xfc, 0x00, 0, 0, 0xfd, 0xea})
	f.Add("^$", []byte{})
	f.Add("[{},]", []byte{3, 1, 0, 0, 0, 1, 4, 1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, expr string, path []byte) {
		v, ferr := attr.DecodeValue(iana.AttrASPath, attr.FlagTransitive, path, attr.Options{AS4: true})
		if ferr != nil {
			return
		}
		if c, ok := newDFACase(expr); ok {
			c.check(t, v.(*attr.ASPath))
		}
	})
}
