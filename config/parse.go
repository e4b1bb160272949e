package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds what Parse and LoadFile accept.
const MaxFileSize = 16 << 20

// LoadFile reads, parses and validates a configuration file. On any error
// it returns no resources and every error found (see Error); error texts
// name the file as path is spelt.
func LoadFile(path string) ([]*Resource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates the YAML documents of data, which errors
// call name. Documents that are empty (or only comments) are skipped but
// counted. The resources come back in document order; on any error, none
// come back.
//
// The checks: the YAML syntax; the envelope (apiVersion, a known kind,
// metadata.name); every field known, of the right type, not repeated, in
// range; each spec's own rules; and across documents, unique names per
// kind, a single BGPConfiguration, references to RoutePolicy, VRF and
// IPPool resources that exist in data, no overlapping pools, no shared
// route distinguishers, VNIs or node addresses.
func Parse(name string, data []byte) ([]*Resource, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Reason: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	type doc struct {
		index int
		r     *Resource
		lines map[string]pos
		bad   []string // paths with decoding errors
	}
	var (
		docs []doc
		errs []*Error
	)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for index := 1; ; index++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, reason := syntaxError(err)
			errs = append(errs, &Error{File: name, Document: index, Line: line, Reason: reason})
			break // the parser cannot resynchronise after a syntax error
		}
		if len(n.Content) == 0 || isNull(n.Content[0]) {
			continue
		}
		d := newDecoder()
		r := d.resource(n.Content[0])
		for _, e := range d.errs {
			errs = append(errs, &Error{File: name, Document: index, Kind: knownKind(r), Name: r.Metadata.Name, Line: e.at.line, col: e.at.col, Path: e.path, Reason: e.reason})
		}
		dd := doc{index: index, r: r, lines: d.lines}
		for _, e := range d.errs {
			dd.bad = append(dd.bad, e.path)
		}
		if d.stop {
			dd.bad = []string{""} // half decoded: checking it would only add noise
		}
		if r.Kind.Known() {
			docs = append(docs, dd)
			continue
		}
		// An unknown kind has no spec to check: report the envelope.
		for _, e := range validateResource(r) {
			if !coveredBy(e.path, dd.bad) {
				at := lookupPos(d.lines, e.path)
				errs = append(errs, &Error{File: name, Document: index, Line: at.line, col: at.col, Path: e.path, Reason: e.reason})
			}
		}
	}

	rs := make([]*Resource, len(docs))
	for i, d := range docs {
		rs[i] = d.r
	}
	pos := func(i int) string { return "document " + strconv.Itoa(docs[i].index) }
	for _, e := range validateSet(rs, pos) {
		d := docs[e.index]
		if coveredBy(e.path, d.bad) {
			continue // already reported, less precisely, when decoding
		}
		at := lookupPos(d.lines, e.path)
		errs = append(errs, &Error{File: name, Document: d.index, Kind: d.r.Kind, Name: d.r.Metadata.Name, Line: at.line, col: at.col, Path: e.path, Reason: e.reason})
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *Error) int {
			if a.Document != b.Document {
				return a.Document - b.Document
			}
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.col - b.col
		})
		return nil, joinErrors(errs)
	}
	return rs, nil
}

// Validate checks resources that did not come from a file (from the API,
// say) as Parse checks a file: each on its own and all together. Errors
// name the resource instead of a document.
func Validate(rs []*Resource) error {
	pos := func(i int) string { return rs[i].Ref().String() }
	var errs []*Error
	for _, e := range validateSet(rs, pos) {
		r := rs[e.index]
		errs = append(errs, &Error{Kind: knownKind(r), Name: r.Metadata.Name, Path: e.path, Reason: e.reason})
	}
	return joinErrors(errs)
}

// ValidateResource checks one resource on its own, without the references
// to others (which a store cannot check one write at a time).
func ValidateResource(r *Resource) error {
	var errs []*Error
	for _, e := range validateResource(r) {
		errs = append(errs, &Error{Kind: knownKind(r), Name: r.Metadata.Name, Path: e.path, Reason: e.reason})
	}
	return joinErrors(errs)
}

func knownKind(r *Resource) Kind {
	if r.Kind.Known() {
		return r.Kind
	}
	return ""
}

// coveredBy reports whether path is one of bad or below one of them.
func coveredBy(path string, bad []string) bool {
	for _, b := range bad {
		if b == "" || path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

// lookupPos finds the position of path, or of its closest ancestor that
// has one (a missing field is reported at its parent).
func lookupPos(lines map[string]pos, path string) pos {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		if strings.HasSuffix(path, `"]`) {
			if i := strings.LastIndex(path, `["`); i >= 0 {
				path = path[:i]
				continue
			}
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return lines[""]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). For those, yaml.v3 reports the 0-based line of the mark
// (decode.go, parser.fail, adds one for scanner errors only), and no line
// at all for the first line.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError takes the line out of a yaml.v3 parse error.
func syntaxError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch("yaml: " + msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0])-len("yaml: "):]
	}
	if parserProblems[msg] {
		line++
	}
	return line, "invalid YAML: " + msg
}

// topFields are the keys of a resource document.
var topFields = []fieldInfo{{name: "apiVersion"}, {name: "kind"}, {name: "metadata"}, {name: "spec"}, {name: "status"}}

// resource decodes one document's root node.
func (d *decoder) resource(n *yaml.Node) *Resource {
	r := &Resource{}
	n = resolveAlias(n)
	d.lines[""] = nodePos(n)
	if n.Kind != yaml.MappingNode {
		d.fail("", n, "a document must be a resource (a mapping with apiVersion, kind, metadata and spec), got "+describe(n))
		return r
	}
	var specNode *yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		key, ok := d.mapKey(k, "")
		if !ok {
			continue
		}
		if line, dup := seen[key]; dup {
			d.fail(key, k, fmt.Sprintf("duplicate field (first at line %d)", line))
			continue
		}
		seen[key] = k.Line
		d.lines[key] = nodePos(k)
		switch key {
		case "apiVersion":
			d.decode(val, reflect.ValueOf(&r.APIVersion).Elem(), key, 1)
		case "kind":
			d.decode(val, reflect.ValueOf(&r.Kind).Elem(), key, 1)
		case "metadata":
			d.decode(val, reflect.ValueOf(&r.Metadata).Elem(), key, 1)
		case "spec":
			specNode = val
		case "status":
			d.decode(val, reflect.ValueOf(&r.Status).Elem(), key, 1)
		default:
			d.fail(key, k, "unknown field"+suggest(key, topFields))
		}
	}
	if spec := NewSpec(r.Kind); spec != nil && specNode != nil {
		d.decode(specNode, reflect.ValueOf(spec).Elem(), "spec", 1)
		r.Spec = spec
	}
	return r
}
