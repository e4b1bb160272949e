package config

// Label selectors in Calico's syntax. ParseSelector reads the text once
// into a small tree, stored flat in the Selector slice so that matching
// walks it by index and never allocates. The tree is canonical: nested
// && and || are flattened, parentheses dropped, the values of in and
// not in sorted and de-duplicated. String prints that canonical form, so
// two selectors that mean the same by these rules print the same.
//
// Grammar, loosest binding first (as in Calico):
//
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | primary
//	primary = "(" or ")" | "all" "(" ")" | "has" "(" label ")"
//	        | label ( "==" value | "!=" value | "in" set | "not" "in" set )
//	set     = "{" [ value { "," value } ] "}"
//	value   = "'" any text without ' "'" | '"' any text without " '"'
//	label   = one or more of A-Z a-z 0-9 _ . / -
//
// Spaces, tabs and newlines may separate tokens. A label named has or all
// is written without parentheses after it (has == 'x').

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Selector picks resources (Nodes) by their labels with an expression in
// Calico's selector syntax, written as a string in YAML and JSON:
//
//	all()                     every resource
//	has(k), !has(k)           the label k is present, absent
//	k == 'v', k != 'v'        k has the value v; k is absent or another value
//	k in {'a', 'b'}           k has one of the values
//	k not in {'a'}            k is absent or has none of the values
//	e && e, e || e, !e, (e)   and, or, not, grouping
//
// Values are quoted with ' or "; label keys may contain letters, digits
// and _ . / - (example.com/rack). ! binds tightest, then &&, then ||.
//
// The zero Selector (nil, len 0) is "not set": the field was absent or
// the empty string. Matches reports true for it, as for all(); fields
// that give "not set" another meaning (BGPPeer.peerSelector: use
// peerAddress instead) are tested with IsZero. len(s) == 0 exactly when
// s.IsZero().
//
// The elements are the parsed expression, which only this package reads.
// A Selector is immutable once parsed and may be shared between
// goroutines.
type Selector []selectorNode

// selectorOp is the operation of one node of a parsed selector.
type selectorOp uint8

const (
	selAll   selectorOp = iota // all()
	selHas                     // has(key)
	selEq                      // key == vals[0]
	selNe                      // key != vals[0]
	selIn                      // key in vals
	selNotIn                   // key not in vals
	selNot                     // !kid
	selAnd                     // kid && kid ...
	selOr                      // kid || kid ...
)

// selectorNode is one node of a parsed selector. The children of a node
// are the count nodes from index first on, in order.
type selectorNode struct {
	op    selectorOp
	key   string
	vals  []string // sorted and unique for in and not in
	first int32
	count int32
}

// maxSelectorDepth bounds the nesting of parentheses and negations, so
// that no input can exhaust the stack.
const maxSelectorDepth = 64

// SelectorError is a syntax error in a selector.
type SelectorError struct {
	Selector string // the text as given
	Column   int    // 1-based, counted in characters
	Reason   string // what was expected
}

func (e *SelectorError) Error() string {
	return fmt.Sprintf("selector %s: column %d: %s", strconv.Quote(e.Selector), e.Column, e.Reason)
}

// ParseSelector reads a selector. The empty string (or only spaces)
// gives the zero Selector; a syntax error is a *SelectorError.
func ParseSelector(text string) (Selector, error) {
	p := selectorParser{src: text}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.toks[0].kind == tokEnd {
		return nil, nil
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEnd {
		return nil, p.errAt(t, "expected &&, || or the end, got "+p.describe(t))
	}
	return layout(root), nil
}

// MustParseSelector is ParseSelector for selectors known to be valid
// (tests, constants); it panics on a syntax error.
func MustParseSelector(text string) Selector {
	s, err := ParseSelector(text)
	if err != nil {
		panic(err)
	}
	return s
}

// IsZero reports whether s is not set.
func (s Selector) IsZero() bool { return len(s) == 0 }

// Matches reports whether labels satisfy s. The zero Selector matches
// everything. It does not allocate.
func (s Selector) Matches(labels map[string]string) bool {
	if len(s) == 0 {
		return true
	}
	return s.match(0, labels)
}

func (s Selector) match(i int32, labels map[string]string) bool {
	n := &s[i]
	switch n.op {
	case selAll:
		return true
	case selHas:
		_, ok := labels[n.key]
		return ok
	case selEq:
		v, ok := labels[n.key]
		return ok && v == n.vals[0]
	case selNe:
		v, ok := labels[n.key]
		return !ok || v != n.vals[0]
	case selIn:
		v, ok := labels[n.key]
		if !ok {
			return false
		}
		_, found := slices.BinarySearch(n.vals, v)
		return found
	case selNotIn:
		v, ok := labels[n.key]
		if !ok {
			return true
		}
		_, found := slices.BinarySearch(n.vals, v)
		return !found
	case selNot:
		return !s.match(n.first, labels)
	case selAnd:
		for k := n.first; k < n.first+n.count; k++ {
			if !s.match(k, labels) {
				return false
			}
		}
		return true
	case selOr:
		for k := n.first; k < n.first+n.count; k++ {
			if s.match(k, labels) {
				return true
			}
		}
		return false
	}
	return false
}

// Equal reports whether s and o are the same canonical expression.
func (s Selector) Equal(o Selector) bool {
	return slices.EqualFunc(s, o, func(a, b selectorNode) bool {
		return a.op == b.op && a.key == b.key && a.first == b.first && a.count == b.count && slices.Equal(a.vals, b.vals)
	})
}

// String is the canonical text of s ("" when not set): single quotes
// (double when the value holds a single quote), one space around binary
// operators, parentheses only where needed.
func (s Selector) String() string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	s.write(&b, 0)
	return b.String()
}

func (s Selector) write(b *strings.Builder, i int32) {
	n := &s[i]
	switch n.op {
	case selAll:
		b.WriteString("all()")
	case selHas:
		b.WriteString("has(")
		b.WriteString(n.key)
		b.WriteString(")")
	case selEq, selNe:
		b.WriteString(n.key)
		if n.op == selEq {
			b.WriteString(" == ")
		} else {
			b.WriteString(" != ")
		}
		writeSelectorValue(b, n.vals[0])
	case selIn, selNotIn:
		b.WriteString(n.key)
		if n.op == selIn {
			b.WriteString(" in {")
		} else {
			b.WriteString(" not in {")
		}
		for k, v := range n.vals {
			if k > 0 {
				b.WriteString(", ")
			}
			writeSelectorValue(b, v)
		}
		b.WriteString("}")
	case selNot:
		b.WriteString("!")
		// A comparison after ! is grouped for the reader; the parser
		// would read it the same without.
		switch s[n.first].op {
		case selAll, selHas, selNot:
			s.write(b, n.first)
		default:
			b.WriteString("(")
			s.write(b, n.first)
			b.WriteString(")")
		}
	case selAnd, selOr:
		sep := " && "
		if n.op == selOr {
			sep = " || "
		}
		for k := n.first; k < n.first+n.count; k++ {
			if k > n.first {
				b.WriteString(sep)
			}
			if n.op == selAnd && s[k].op == selOr {
				b.WriteString("(")
				s.write(b, k)
				b.WriteString(")")
			} else {
				s.write(b, k)
			}
		}
	}
}

func writeSelectorValue(b *strings.Builder, v string) {
	q := "'"
	if strings.Contains(v, "'") {
		q = `"`
	}
	b.WriteString(q)
	b.WriteString(v)
	b.WriteString(q)
}

// MarshalText prints s as String does.
func (s Selector) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a selector (JSON reads it through this).
func (s *Selector) UnmarshalText(b []byte) error {
	sel, err := ParseSelector(string(b))
	if err != nil {
		return err
	}
	*s = sel
	return nil
}

func (s *Selector) decodeNode(n *yaml.Node) string {
	const want = "must be a selector expression in Calico's syntax, such as rack == 'r1'"
	switch {
	case n.Kind == yaml.MappingNode:
		return want + ", got a mapping" + matchLabelsHint(n)
	case n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str":
		return want + ", got " + describe(n)
	}
	sel, err := ParseSelector(n.Value)
	if err != nil {
		return err.Error()
	}
	*s = sel
	return ""
}

// matchLabelsHint spells a mapping of labels (the matchLabels form) as
// the selector that means the same, for the error that refuses it.
func matchLabelsHint(n *yaml.Node) string {
	var parts []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		if k == nil || v == nil || k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return ""
		}
		var b strings.Builder
		b.WriteString(k.Value)
		b.WriteString(" == ")
		writeSelectorValue(&b, v.Value)
		parts = append(parts, b.String())
	}
	if len(parts) == 0 {
		return ""
	}
	slices.Sort(parts)
	return " (write the labels as " + strings.Join(parts, " && ") + ")"
}

// labelsOf calls f with each label key the selector tests and the value
// it is compared with, or without a value for has().
func (s Selector) labelsOf(f func(key string, vals []string)) {
	for i := range s {
		switch n := &s[i]; n.op {
		case selHas:
			f(n.key, nil)
		case selEq, selNe, selIn, selNotIn:
			f(n.key, n.vals)
		}
	}
}

// The parser.

type selectorTokenKind uint8

const (
	tokEnd selectorTokenKind = iota
	tokLabel
	tokValue // a quoted value; text is without the quotes
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokNe
	tokNot
	tokAnd
	tokOr
)

type selectorToken struct {
	kind selectorTokenKind
	text string
	off  int // byte offset in the selector
}

type selectorParser struct {
	src  string
	toks []selectorToken
	pos  int
}

// selectorTree is the parsed expression before layout.
type selectorTree struct {
	op   selectorOp
	key  string
	vals []string
	kids []*selectorTree
}

func isLabelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '/' || c == '-'
}

// lex splits the text into tokens, ending with tokEnd.
func (p *selectorParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isLabelByte(c):
			j := i
			for j < len(s) && isLabelByte(s[j]) {
				j++
			}
			p.toks = append(p.toks, selectorToken{tokLabel, s[i:j], i})
			i = j
			continue
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return p.errOff(i, fmt.Sprintf("the value has no closing %c", c))
			}
			p.toks = append(p.toks, selectorToken{tokValue, s[i+1 : i+1+end], i})
			i += end + 2
			continue
		}
		two := ""
		if i+1 < len(s) {
			two = s[i : i+2]
		}
		kind := tokEnd
		n := 1
		switch {
		case two == "==":
			kind, n = tokEq, 2
		case two == "!=":
			kind, n = tokNe, 2
		case two == "&&":
			kind, n = tokAnd, 2
		case two == "||":
			kind, n = tokOr, 2
		case c == '!':
			kind = tokNot
		case c == '(':
			kind = tokLParen
		case c == ')':
			kind = tokRParen
		case c == '{':
			kind = tokLBrace
		case c == '}':
			kind = tokRBrace
		case c == ',':
			kind = tokComma
		case c == '=':
			return p.errOff(i, "a single '=' (write ==)")
		case c == '&':
			return p.errOff(i, "a single '&' (write &&)")
		case c == '|':
			return p.errOff(i, "a single '|' (write ||)")
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return p.errOff(i, fmt.Sprintf("unexpected character %q", r))
		}
		p.toks = append(p.toks, selectorToken{kind, s[i : i+n], i})
		i += n
	}
	p.toks = append(p.toks, selectorToken{tokEnd, "", len(s)})
	return nil
}

func (p *selectorParser) peek() selectorToken { return p.toks[p.pos] }

func (p *selectorParser) next() selectorToken {
	t := p.toks[p.pos]
	if t.kind != tokEnd {
		p.pos++
	}
	return t
}

func (p *selectorParser) errOff(off int, reason string) error {
	return &SelectorError{Selector: p.src, Column: utf8.RuneCountInString(p.src[:off]) + 1, Reason: reason}
}

func (p *selectorParser) errAt(t selectorToken, reason string) error { return p.errOff(t.off, reason) }

// describe names a token for "expected X, got Y".
func (p *selectorParser) describe(t selectorToken) string {
	switch t.kind {
	case tokEnd:
		return "the end"
	case tokValue:
		return "the value " + p.src[t.off:t.off+len(t.text)+2]
	case tokLabel:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

// expect consumes a token of kind k or fails with "expected what".
func (p *selectorParser) expect(k selectorTokenKind, what string) (selectorToken, error) {
	t := p.next()
	if t.kind != k {
		return t, p.errAt(t, "expected "+what+", got "+p.describe(t))
	}
	return t, nil
}

func (p *selectorParser) or(depth int) (*selectorTree, error) {
	return p.binary(depth, tokOr, selOr, p.and)
}

func (p *selectorParser) and(depth int) (*selectorTree, error) {
	return p.binary(depth, tokAnd, selAnd, p.unary)
}

// binary reads operands separated by op, flattening nested ones of the
// same operator.
func (p *selectorParser) binary(depth int, op selectorTokenKind, sel selectorOp, operand func(int) (*selectorTree, error)) (*selectorTree, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != op {
		return first, nil
	}
	n := &selectorTree{op: sel}
	add := func(t *selectorTree) {
		if t.op == sel {
			n.kids = append(n.kids, t.kids...)
		} else {
			n.kids = append(n.kids, t)
		}
	}
	add(first)
	for p.peek().kind == op {
		p.next()
		t, err := operand(depth)
		if err != nil {
			return nil, err
		}
		add(t)
	}
	return n, nil
}

func (p *selectorParser) unary(depth int) (*selectorTree, error) {
	if depth >= maxSelectorDepth {
		return nil, p.errAt(p.peek(), fmt.Sprintf("nested too deeply (more than %d levels of ! and parentheses)", maxSelectorDepth))
	}
	if p.peek().kind == tokNot {
		p.next()
		t, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &selectorTree{op: selNot, kids: []*selectorTree{t}}, nil
	}
	return p.primary(depth)
}

func (p *selectorParser) primary(depth int) (*selectorTree, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		inner, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			col := utf8.RuneCountInString(p.src[:t.off]) + 1
			return nil, p.errAt(c, fmt.Sprintf("expected ')' to close the '(' at column %d, got %s", col, p.describe(c)))
		}
		return inner, nil
	case tokLabel:
		if p.peek().kind == tokLParen && (t.text == "all" || t.text == "has") {
			p.next()
			if t.text == "all" {
				if _, err := p.expect(tokRParen, "')' after all("); err != nil {
					return nil, err
				}
				return &selectorTree{op: selAll}, nil
			}
			k, err := p.expect(tokLabel, "a label in has()")
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tokRParen, "')' after has("+k.text); err != nil {
				return nil, err
			}
			return &selectorTree{op: selHas, key: k.text}, nil
		}
		return p.comparison(t.text)
	}
	return nil, p.errAt(t, "expected a label, has(label), all(), '!' or '(', got "+p.describe(t))
}

// comparison reads what follows a label.
func (p *selectorParser) comparison(key string) (*selectorTree, error) {
	t := p.next()
	switch {
	case t.kind == tokEq || t.kind == tokNe:
		v, err := p.expect(tokValue, "a quoted value after "+t.text)
		if err != nil {
			return nil, err
		}
		op := selEq
		if t.kind == tokNe {
			op = selNe
		}
		return &selectorTree{op: op, key: key, vals: []string{v.text}}, nil
	case t.kind == tokLabel && t.text == "in":
		vals, err := p.set()
		if err != nil {
			return nil, err
		}
		return &selectorTree{op: selIn, key: key, vals: vals}, nil
	case t.kind == tokLabel && t.text == "not":
		if in := p.next(); in.kind != tokLabel || in.text != "in" {
			return nil, p.errAt(in, "expected in after not, got "+p.describe(in))
		}
		vals, err := p.set()
		if err != nil {
			return nil, err
		}
		return &selectorTree{op: selNotIn, key: key, vals: vals}, nil
	}
	return nil, p.errAt(t, fmt.Sprintf("expected ==, !=, in or not in after %s, got %s", key, p.describe(t)))
}

// set reads {'a', 'b'}: sorted and without duplicates.
func (p *selectorParser) set() ([]string, error) {
	if _, err := p.expect(tokLBrace, "'{'"); err != nil {
		return nil, err
	}
	vals := []string{}
	if p.peek().kind == tokRBrace {
		p.next()
		return vals, nil
	}
	for {
		v, err := p.expect(tokValue, "a quoted value")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v.text)
		t := p.next()
		if t.kind == tokRBrace {
			break
		}
		if t.kind != tokComma {
			return nil, p.errAt(t, "expected ',' or '}', got "+p.describe(t))
		}
	}
	slices.Sort(vals)
	return slices.Compact(vals), nil
}

// layout stores a tree breadth first, so that the children of each node
// are adjacent.
func layout(root *selectorTree) Selector {
	trees := []*selectorTree{root}
	var out Selector
	for i := 0; i < len(trees); i++ {
		t := trees[i]
		n := selectorNode{op: t.op, key: t.key, vals: t.vals}
		if len(t.kids) > 0 {
			n.first, n.count = int32(len(trees)), int32(len(t.kids))
			trees = append(trees, t.kids...)
		}
		out = append(out, n)
	}
	return out
}
