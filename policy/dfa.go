package policy

import (
	"regexp/syntax"
	"slices"

	"github.com/godwit-bgp/godwit/wire/attr"
	"github.com/godwit-bgp/godwit/wire/iana"
)

// AS path regular expressions run on a text of at most 18 different
// characters (digits, space, and the delimiters of sets and confederation
// segments). Go's regexp package is built for any text and, for the usual
// unanchored patterns ("_65001_", "_65001$"), takes a microsecond or more
// per path, which over a full table is most of the policy's time. So
// Compile turns each expression into a deterministic automaton over that
// small alphabet (subset construction over the regexp/syntax program), and
// Eval feeds it the path's characters straight from the segments, without
// formatting the text: tens of nanoseconds per path, no buffer. An
// expression whose automaton would be too large, or that uses an assertion
// the automaton does not model (\b, \B), runs on regexp as before.

// pathAlphabet is every character the text of an AS path can hold.
const pathAlphabet = "0123456789 {},()[]"

// pathSymbol maps a character of pathAlphabet to its index.
var pathSymbol = func() (t [256]uint8) {
	for i := range pathAlphabet {
		t[pathAlphabet[i]] = uint8(i)
	}
	return t
}()

const (
	nsym = len(pathAlphabet)
	// maxDFAStates and maxDFAWork bound what Compile spends on one
	// expression (work counts instructions visited while building); an
	// expression that needs more runs on regexp.
	maxDFAStates = 1024
	maxDFAWork   = 4 << 20
	// maxPairStates bounds the pair table (400 octets per state).
	maxPairStates = 256
	beginOps      = syntax.EmptyBeginText | syntax.EmptyBeginLine
	endOps        = syntax.EmptyEndText | syntax.EmptyEndLine
)

// pathDFA answers "does the expression match somewhere in the text", as
// regexp.Regexp.Match does.
type pathDFA struct {
	// tab[state<<symShift|symbol] is the next state, or acceptMark when a
	// match has ended there (the answer is then true whatever follows), or
	// deadMark when no match can end anymore (false).
	tab []int32
	// pair[state*100+10*d1+d2] is where two digits d1 d2 lead from state
	// (or a mark): AS numbers are most of the text, and taking their
	// digits two at a time halves the chain of dependent lookups. Nil for
	// automata of more than maxPairStates states.
	pair []int32
	// acceptEnd: a match ends at the end of the text when the text ends in
	// the state.
	acceptEnd []bool
	// start is the state before the first character, or a mark.
	start int32
	// emptyMatch is the answer for the empty text.
	emptyMatch bool
}

const (
	symShift   = 5 // 1<<symShift >= nsym
	acceptMark = -1
	deadMark   = -2
)

// The symbols of the characters that separate AS numbers (digits are
// their own value).
const (
	symSpace = 10 + iota
	symSetOpen
	symSetClose
	symComma
	symConfedOpen
	symConfedClose
	symConfedSetOpen
	symConfedSetClose
)

// compileDFA builds the automaton of a regexp-syntax expression (in the
// form regexp.Compile takes), or returns false when it cannot.
func compileDFA(expr string) (*pathDFA, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, false
	}
	for i := range prog.Inst {
		in := &prog.Inst[i]
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&^(beginOps|endOps) != 0 {
			return nil, false // word boundaries need the neighbouring characters
		}
	}
	b := dfaBuilder{prog: prog, index: map[string]int32{}, seen: make([]uint32, len(prog.Inst))}
	startPCs := []uint32{uint32(prog.Start)}
	// Later positions restart the search too (the match may start
	// anywhere); there the text has begun.
	restart := b.closure(startPCs, 0)
	first := b.state(b.closure(startPCs, beginOps))
	var (
		next      []int32 // next[state*nsym+symbol]
		accept    []bool
		acceptEnd []bool
	)
	// Symbols that every instruction treats alike (most digits, usually)
	// share their transitions: each class is computed once per state.
	class, reps := symbolClasses(prog)
	for s := 0; s < len(b.sets); s++ {
		if len(b.sets) > maxDFAStates || b.work > maxDFAWork {
			return nil, false
		}
		set := b.sets[s]
		accept = append(accept, b.hasMatch(set))
		acceptEnd = append(acceptEnd, b.hasMatch(b.closure(set, endOps)))
		var to [nsym]int32
		for k, c := range reps {
			var moved []uint32
			for _, pc := range set {
				in := &prog.Inst[pc]
				if isRuneInst(in.Op) && in.MatchRune(rune(pathAlphabet[c])) {
					moved = append(moved, in.Out)
				}
			}
			moved = append(b.closure(moved, 0), restart...)
			to[k] = b.state(normalize(moved))
		}
		for c := range nsym {
			next = append(next, to[class[c]])
		}
	}
	// A state is live when a match can still end from it.
	live := slices.Clone(acceptEnd)
	for changed := true; changed; {
		changed = false
		for s := range live {
			if live[s] || accept[s] {
				live[s] = true
				continue
			}
			for c := range nsym {
				if live[next[s*nsym+c]] {
					live[s], changed = true, true
					break
				}
			}
		}
	}
	mark := func(t int32) int32 {
		switch {
		case accept[t]:
			return acceptMark
		case !live[t]:
			return deadMark
		}
		return t
	}
	d := &pathDFA{
		tab:        make([]int32, len(b.sets)<<symShift),
		acceptEnd:  acceptEnd,
		start:      mark(first),
		emptyMatch: b.hasMatch(b.closure(startPCs, beginOps|endOps)),
	}
	for s := range b.sets {
		for c := range nsym {
			d.tab[s<<symShift|c] = mark(next[s*nsym+c])
		}
	}
	if len(b.sets) <= maxPairStates {
		d.pair = make([]int32, len(b.sets)*100)
		for s := range b.sets {
			for d1 := range 10 {
				t := d.tab[s<<symShift|d1]
				for d2 := range 10 {
					u := t
					if u >= 0 {
						u = d.tab[int(u)<<symShift|d2]
					}
					d.pair[s*100+d1*10+d2] = u
				}
			}
		}
	}
	return d, true
}

// symbolClasses groups the symbols that no instruction of prog tells
// apart: class[c] is c's class, reps[k] a symbol of class k.
func symbolClasses(prog *syntax.Prog) (class [nsym]int, reps []int) {
	var sig [nsym][]bool // which rune instructions match each symbol
	for i := range prog.Inst {
		in := &prog.Inst[i]
		if !isRuneInst(in.Op) {
			continue
		}
		for c := range nsym {
			sig[c] = append(sig[c], in.MatchRune(rune(pathAlphabet[c])))
		}
	}
	for c := range nsym {
		class[c] = -1
		for k, r := range reps {
			if slices.Equal(sig[c], sig[r]) {
				class[c] = k
				break
			}
		}
		if class[c] < 0 {
			class[c] = len(reps)
			reps = append(reps, c)
		}
	}
	return class, reps
}

func isRuneInst(op syntax.InstOp) bool {
	switch op {
	case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
		return true
	}
	return false
}

// dfaBuilder numbers the sets of program counters that become states.
type dfaBuilder struct {
	prog  *syntax.Prog
	sets  [][]uint32
	index map[string]int32
	// seen[pc] == gen marks the instructions the current closure visited.
	seen  []uint32
	gen   uint32
	stack []uint32
	work  int
}

// state returns the number of a (normalized) set, adding it when new.
func (b *dfaBuilder) state(set []uint32) int32 {
	key := make([]byte, 0, 4*len(set))
	for _, pc := range set {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	if s, ok := b.index[string(key)]; ok {
		return s
	}
	s := int32(len(b.sets))
	b.sets = append(b.sets, set)
	b.index[string(key)] = s
	return s
}

// closure follows the empty transitions from pcs at a position where the
// assertions in flags hold. It keeps the instructions that consume a
// character, the matches, and the assertions that need the end of the text
// when flags do not say it is there (they are settled when the text ends;
// no assertion about the end holds anywhere else). The result is sorted.
func (b *dfaBuilder) closure(pcs []uint32, flags syntax.EmptyOp) []uint32 {
	b.gen++
	var out []uint32
	stack := append(b.stack[:0], pcs...)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b.seen[pc] == b.gen {
			continue
		}
		b.seen[pc] = b.gen
		b.work++
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Arg, in.Out)
		case syntax.InstCapture, syntax.InstNop:
			stack = append(stack, in.Out)
		case syntax.InstEmptyWidth:
			need := syntax.EmptyOp(in.Arg) &^ flags
			switch {
			case need == 0:
				stack = append(stack, in.Out)
			case need&^endOps == 0:
				out = append(out, pc) // pending: holds if the text ends here
			}
		case syntax.InstMatch:
			out = append(out, pc)
		case syntax.InstFail:
		default:
			if isRuneInst(in.Op) {
				out = append(out, pc)
			}
		}
	}
	b.stack = stack
	return normalize(out)
}

func (b *dfaBuilder) hasMatch(set []uint32) bool {
	for _, pc := range set {
		if b.prog.Inst[pc].Op == syntax.InstMatch {
			return true
		}
	}
	return false
}

func normalize(set []uint32) []uint32 {
	slices.Sort(set)
	return slices.Compact(set)
}

// matchText runs the automaton over a text of pathAlphabet characters.
func (d *pathDFA) matchText(text []byte) bool {
	if len(text) == 0 {
		return d.emptyMatch
	}
	s := d.start
	for _, c := range text {
		if s < 0 {
			break
		}
		s = d.tab[int(s)<<symShift|int(pathSymbol[c])]
	}
	return d.final(s)
}

// final is the answer when the text ended in s.
func (d *pathDFA) final(s int32) bool {
	if s < 0 {
		return s == acceptMark
	}
	return d.acceptEnd[s]
}

// matchPath runs the automaton over the path's text as appendPathText
// writes it, generating the symbols from the segments.
func (d *pathDFA) matchPath(p *attr.ASPath) bool {
	s := d.start
	started := false
	if p == nil {
		return d.emptyMatch
	}
	for _, seg := range p.Segments {
		if len(seg.ASNs) == 0 {
			continue
		}
		if started {
			if s = d.step(s, symSpace); s < 0 {
				return s == acceptMark
			}
		}
		if s < 0 {
			return s == acceptMark
		}
		started = true
		var open, close, sep uint8 = 0, 0, symSpace
		switch seg.Type {
		case iana.SegmentASSet:
			open, close, sep = symSetOpen, symSetClose, symComma
		case iana.SegmentConfedSequence:
			open, close = symConfedOpen, symConfedClose
		case iana.SegmentConfedSet:
			open, close, sep = symConfedSetOpen, symConfedSetClose, symComma
		}
		if open != 0 {
			if s = d.step(s, open); s < 0 {
				return s == acceptMark
			}
		}
		for i, as := range seg.ASNs {
			if i > 0 {
				if s = d.step(s, sep); s < 0 {
					return s == acceptMark
				}
			}
			var digits [10]uint8
			n := len(digits)
			for {
				n--
				digits[n] = uint8(as % 10)
				as /= 10
				if as == 0 {
					break
				}
			}
			if d.pair != nil {
				if (len(digits)-n)%2 == 1 {
					if s = d.step(s, digits[n]); s < 0 {
						return s == acceptMark
					}
					n++
				}
				for ; n < len(digits); n += 2 {
					if s = d.pair[int(s)*100+int(digits[n])*10+int(digits[n+1])]; s < 0 {
						return s == acceptMark
					}
				}
				continue
			}
			for _, c := range digits[n:] {
				if s = d.step(s, c); s < 0 {
					return s == acceptMark
				}
			}
		}
		if close != 0 {
			if s = d.step(s, close); s < 0 {
				return s == acceptMark
			}
		}
	}
	if !started {
		return d.emptyMatch
	}
	return d.acceptEnd[s]
}

// step moves from state s (not a mark) on a symbol.
func (d *pathDFA) step(s int32, sym uint8) int32 {
	return d.tab[int(s)<<symShift|int(sym)]
}
