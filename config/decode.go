package config

// The strict decoder. yaml.v3's Decoder parses the text document by
// document into node trees; this file walks a tree into the Go types,
// field by field, so that every error knows its field path
// ("spec.statements[1].actions.result") and its line, and so that all of a
// document's errors are reported at once.
//
// It does the job of yaml.v3's Decoder.KnownFields(true) (an unknown field
// is an error) and more, instead of using it, because its errors give a
// line and Go type names but no field path ("field peerAsn not found in
// type config.BGPPeerSpec", "cannot unmarshal !!str `x` into uint32"), it
// cannot pick the spec type from the document's kind in one pass, and
// Node.Decode, which a node tree needs, has no KnownFields. Duplicate keys, wrong
// types, out-of-range integers (`range:"lo..hi"` tags) and bad values are
// reported the same way. Field names come from the `json` struct tags, so
// the YAML and JSON forms of a resource have the same names.

import (
	"encoding"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

const (
	// maxDepth bounds nesting (the deepest real path is about eight
	// levels); it also stops an alias that contains itself.
	maxDepth = 32
	// maxNodes bounds the nodes walked per document, aliases expanded, so
	// that a "billion laughs" document costs little.
	maxNodes = 200000
)

// pathError is one error found in a document, before the file and
// document are attached.
type pathError struct {
	path   string
	at     pos
	reason string
}

// pos is a position in a file, 1-based; zero when not known.
type pos struct{ line, col int }

func nodePos(n *yaml.Node) pos {
	if n == nil {
		return pos{}
	}
	return pos{n.Line, n.Column}
}

// decoder walks one document.
type decoder struct {
	errs  []pathError
	lines map[string]pos // field path -> position, for validation errors
	nodes int
	stop  bool // the node budget is spent
}

func newDecoder() *decoder { return &decoder{lines: map[string]pos{}} }

func (d *decoder) fail(path string, n *yaml.Node, reason string) {
	d.errs = append(d.errs, pathError{path: path, at: nodePos(n), reason: reason})
}

// resolveAlias follows aliases to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null, which both mean
// "not set".
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

var (
	nodeDecoderType     = reflect.TypeFor[nodeDecoder]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	addrType            = reflect.TypeFor[netip.Addr]()
	prefixType          = reflect.TypeFor[netip.Prefix]()
	addrPortType        = reflect.TypeFor[netip.AddrPort]()
	timeType            = reflect.TypeFor[time.Time]()
)

// decode stores n into v (settable), reporting errors under path. A null
// node leaves v at its zero value.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if d.stop {
		return
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.fail(path, n, fmt.Sprintf("document too large (more than %d nodes, aliases expanded)", maxNodes))
		d.stop = true
		return
	}
	if depth > maxDepth {
		d.fail(path, n, "nested too deeply (or an alias refers to itself)")
		d.stop = true
		return
	}
	n = resolveAlias(n)
	if n == nil || n.Kind == yaml.AliasNode {
		d.fail(path, n, "alias nested too deeply")
		return
	}
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		// A selector such as !has(x) reads as a tag unless quoted.
		d.fail(path, n, fmt.Sprintf("unsupported tag %s (quote a value that starts with '!')", n.Tag))
		return
	}
	t := v.Type()
	if reflect.PointerTo(t).Implements(nodeDecoderType) {
		if reason := v.Addr().Interface().(nodeDecoder).decodeNode(n); reason != "" {
			d.fail(path, n, reason)
		}
		return
	}
	switch t {
	case addrType:
		a, reason := scalarText(n, "an IP address")
		if reason == "" {
			ip, err := netip.ParseAddr(a)
			switch {
			case err != nil:
				reason = fmt.Sprintf("must be an IP address, got %q", a)
			default:
				reason = plainAddr(ip)
			}
			if reason == "" {
				v.Set(reflect.ValueOf(ip))
			}
		}
		if reason != "" {
			d.fail(path, n, reason)
		}
		return
	case prefixType:
		s, reason := scalarText(n, "a CIDR prefix")
		if reason == "" {
			var p netip.Prefix
			if p, reason = parsePrefix(s); reason == "" {
				v.Set(reflect.ValueOf(p))
			}
		}
		if reason != "" {
			d.fail(path, n, reason)
		}
		return
	case addrPortType:
		s, reason := scalarText(n, "address:port")
		if reason == "" {
			ap, err := netip.ParseAddrPort(s)
			switch {
			case err != nil:
				reason = fmt.Sprintf("must be address:port like 10.0.0.1:179 or [::]:179, got %q", s)
			default:
				reason = plainAddr(ap.Addr())
			}
			if reason == "" {
				v.Set(reflect.ValueOf(ap))
			}
		}
		if reason != "" {
			d.fail(path, n, reason)
		}
		return
	case timeType:
		s, reason := scalarText(n, "a time")
		if reason == "" {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				reason = fmt.Sprintf("must be an RFC 3339 time like 2006-01-02T15:04:05Z, got %q", s)
			} else {
				v.Set(reflect.ValueOf(tm))
			}
		}
		if reason != "" {
			d.fail(path, n, reason)
		}
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, reason := scalarText(n, "a string")
		if reason == "" {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			d.fail(path, n, reason)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), path, depth+1)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, "must be a list, got "+describe(n))
			return
		}
		if len(n.Content) == 0 {
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = nodePos(item)
			d.decode(item, s.Index(i), p, depth+1)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(path, n, "must be a string, got "+describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(path, n, "must be true or false, got "+describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.decodeInt(n, v, path, intRange{})
	default:
		// A type this decoder does not know is a bug in this package.
		panic(fmt.Sprintf("config: cannot decode into %s", t))
	}
}

// scalarText returns the text of a scalar node for a type that parses its
// own text; what names the expected form for the error.
func scalarText(n *yaml.Node, what string) (string, string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!bool" {
		return "", "must be " + what + ", got " + describe(n)
	}
	return n.Value, ""
}

// intRange is an inclusive range from a `range:"lo..hi"` struct tag.
type intRange struct {
	set    bool
	lo, hi int64
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, r intRange) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.fail(path, n, "must be an integer, got "+describe(n))
		return
	}
	lo, hi := int64(0), int64(0)
	unsignedMax := uint64(0)
	switch v.Kind() {
	case reflect.Int, reflect.Int64:
		lo, hi = -1<<63, 1<<63-1
	case reflect.Int8:
		lo, hi = -1<<7, 1<<7-1
	case reflect.Int16:
		lo, hi = -1<<15, 1<<15-1
	case reflect.Int32:
		lo, hi = -1<<31, 1<<31-1
	case reflect.Uint8:
		hi = 1<<8 - 1
	case reflect.Uint16:
		hi = 1<<16 - 1
	case reflect.Uint32:
		hi = 1<<32 - 1
	case reflect.Uint, reflect.Uint64:
		hi = 1<<63 - 1
		unsignedMax = 1<<64 - 1
	}
	if r.set {
		lo, hi = r.lo, r.hi
	}
	var x int64
	if err := n.Decode(&x); err != nil {
		var u uint64
		if unsignedMax != 0 && !r.set && n.Decode(&u) == nil {
			v.SetUint(u)
			return
		}
		d.fail(path, n, fmt.Sprintf("must be %d..%d, got %s", lo, hi, truncate(n.Value)))
		return
	}
	if x < lo || x > hi {
		d.fail(path, n, fmt.Sprintf("must be %d..%d, got %d", lo, hi, x))
		return
	}
	if v.CanInt() {
		v.SetInt(x)
	} else {
		v.SetUint(uint64(x))
	}
}

// fieldInfo describes one decodable struct field.
type fieldInfo struct {
	name  string
	index int
	rng   intRange
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

// fieldsOf lists t's fields by their json names.
func fieldsOf(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	var out []fieldInfo
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fi := fieldInfo{name: name, index: i}
		if r := sf.Tag.Get("range"); r != "" {
			a, b, _ := strings.Cut(r, "..")
			lo, err1 := strconv.ParseInt(a, 10, 64)
			hi, err2 := strconv.ParseInt(b, 10, 64)
			if err1 != nil || err2 != nil {
				panic(fmt.Sprintf("config: bad range tag %q on %s.%s", r, t, sf.Name))
			}
			fi.rng = intRange{set: true, lo: lo, hi: hi}
		}
		out = append(out, fi)
	}
	fieldCache.Store(t, out)
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping, got "+describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		key, ok := d.mapKey(k, path)
		if !ok {
			continue
		}
		p := joinPath(path, key)
		if line, dup := seen[key]; dup {
			d.fail(p, k, fmt.Sprintf("duplicate field (first at line %d)", line))
			continue
		}
		seen[key] = k.Line
		var fi *fieldInfo
		for j := range fields {
			if fields[j].name == key {
				fi = &fields[j]
				break
			}
		}
		if fi == nil {
			d.fail(p, k, "unknown field"+suggest(key, fields))
			continue
		}
		d.lines[p] = nodePos(k)
		fv := v.Field(fi.index)
		if fi.rng.set && !isNull(resolveAlias(val)) {
			target := fv
			if fv.Kind() == reflect.Pointer {
				if resolveAlias(val).Kind != yaml.ScalarNode {
					d.fail(p, val, "must be an integer, got "+describe(val))
					continue
				}
				target = reflect.New(fv.Type().Elem()).Elem()
				before := len(d.errs)
				d.decodeInt(resolveAlias(val), target, p, fi.rng)
				if len(d.errs) == before {
					ptr := reflect.New(target.Type())
					ptr.Elem().Set(target)
					fv.Set(ptr)
				}
				continue
			}
			d.decodeInt(resolveAlias(val), target, p, fi.rng)
			continue
		}
		d.decode(val, fv, p, depth+1)
	}
}

// mapKey returns the text of a mapping key, which must be a plain string.
func (d *decoder) mapKey(k *yaml.Node, path string) (string, bool) {
	if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
		d.fail(path, k, "merge keys (<<) are not supported")
		return "", false
	}
	if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!int") {
		d.fail(path, k, "a key must be a string, got "+describe(k))
		return "", false
	}
	return k.Value, true
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "must be a mapping, got "+describe(n))
		return
	}
	if len(n.Content) == 0 {
		return
	}
	t := v.Type()
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		key, ok := d.mapKey(k, path)
		if !ok {
			continue
		}
		p := joinPath(path, key)
		if line, dup := seen[key]; dup {
			d.fail(p, k, fmt.Sprintf("duplicate key (first at line %d)", line))
			continue
		}
		seen[key] = k.Line
		d.lines[p] = nodePos(k)
		kv := reflect.New(t.Key()).Elem()
		before := len(d.errs)
		d.decode(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: k.Line, Column: k.Column}, kv, p, depth+1)
		vv := reflect.New(t.Elem()).Elem()
		d.decode(n.Content[i+1], vv, p, depth+1)
		if len(d.errs) == before {
			m.SetMapIndex(kv, vv)
		}
	}
	v.Set(m)
}

// joinPath appends a field or map key to a path; keys that are not plain
// identifiers are quoted, as in spec.nodeSelector["example.com/rack"].
func joinPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// suggest proposes the field the user probably meant.
func suggest(key string, fields []fieldInfo) string {
	best, bestDist := "", 3
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return fmt.Sprintf(" (did you mean %s?)", f.name)
		}
		if dist := editDistance(strings.ToLower(key), strings.ToLower(f.name)); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names what a node is, for "must be X, got Y" errors.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return "string " + strconv.Quote(truncate(n.Value))
	case "!!int":
		return "integer " + truncate(n.Value)
	case "!!float":
		return "number " + truncate(n.Value)
	case "!!bool":
		return "boolean " + truncate(n.Value)
	case "!!timestamp":
		return "timestamp " + truncate(n.Value)
	}
	return n.ShortTag() + " " + strconv.Quote(truncate(n.Value))
}

// truncate shortens long values quoted in errors.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// intValue returns the value of an integer scalar.
func intValue(n *yaml.Node) (int64, bool) {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	var x int64
	if n.Decode(&x) != nil {
		return 0, false
	}
	return x, true
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func intNode(x int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(x, 10)}
}
