package config

import (
	"bytes"
	"encoding"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// PrintOptions change how Print writes resources.
type PrintOptions struct {
	// ShowSecrets prints passwords as they are instead of "<redacted>",
	// for writing a configuration that is to be read back (a store dump).
	// Output for people never sets it.
	ShowSecrets bool
}

// Print writes rs as YAML documents separated by "---", in the order given
// (SortResources puts them in canonical order). The form is canonical:
// fields in a fixed order, unset fields left out, values in their
// canonical spelling (addresses, prefixes, communities, durations), and
// lists of scalars that fit on a line in flow style. Parsing the output
// gives back the same resources (with ShowSecrets set, when they have
// passwords).
func Print(w io.Writer, rs []*Resource, opts PrintOptions) error {
	for i, r := range rs {
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		e := encoder{opts: opts}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(e.resource(r)); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Marshal returns what Print writes.
func Marshal(rs []*Resource, opts PrintOptions) ([]byte, error) {
	var b bytes.Buffer
	err := Print(&b, rs, opts)
	return b.Bytes(), err
}

// encoder turns Go values into yaml nodes; the mirror of decoder.
type encoder struct {
	opts PrintOptions
}

func (e *encoder) resource(r *Resource) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) {
		if v != nil {
			m.Content = append(m.Content, strNode(k), v)
		}
	}
	add("apiVersion", strNode(r.APIVersion))
	add("kind", strNode(string(r.Kind)))
	add("metadata", e.value(reflect.ValueOf(r.Metadata)))
	if !isNilSpec(r.Spec) {
		add("spec", e.value(reflect.ValueOf(r.Spec).Elem()))
	}
	if r.Status != nil {
		add("status", e.value(reflect.ValueOf(r.Status).Elem()))
	}
	return m
}

var (
	nodeEncoderType   = reflect.TypeFor[nodeEncoder]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	secretType        = reflect.TypeFor[Secret]()
)

// flowWidth is the longest list of scalars printed on one line.
const flowWidth = 64

// value encodes v; it is never nil for a value the decoder can produce.
func (e *encoder) value(v reflect.Value) *yaml.Node {
	t := v.Type()
	switch {
	case t == secretType:
		if e.opts.ShowSecrets {
			return strNode(v.String())
		}
		return strNode(Redacted)
	case t.Implements(nodeEncoderType):
		return v.Interface().(nodeEncoder).encodeNode()
	case t == addrType:
		return strNode(v.Interface().(netip.Addr).String())
	case t == prefixType:
		return strNode(v.Interface().(netip.Prefix).String())
	case t == addrPortType:
		return strNode(v.Interface().(netip.AddrPort).String())
	case t == timeType:
		return strNode(v.Interface().(time.Time).Format(time.RFC3339Nano))
	case t.Implements(textMarshalerType):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			panic(fmt.Sprintf("config: %s.MarshalText: %v", t, err))
		}
		return strNode(string(b))
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return e.value(v.Elem())
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, f := range fieldsOf(t) {
			fv := v.Field(f.index)
			if isEmptyValue(fv) {
				continue
			}
			if n := e.value(fv); n != nil {
				m.Content = append(m.Content, strNode(f.name), n)
			}
		}
		return m
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range v.Len() {
			seq.Content = append(seq.Content, e.value(v.Index(i)))
		}
		return flowIfShort(seq)
	case reflect.Map:
		type kv struct {
			k string
			v reflect.Value
		}
		var items []kv
		for it := v.MapRange(); it.Next(); {
			kn := e.value(it.Key())
			items = append(items, kv{kn.Value, it.Value()})
		}
		sort.Slice(items, func(i, j int) bool { return items[i].k < items[j].k })
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, it := range items {
			m.Content = append(m.Content, strNode(it.k), e.value(it.v))
		}
		return m
	case reflect.String:
		return strNode(v.String())
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intNode(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v.Uint(), 10)}
	}
	panic(fmt.Sprintf("config: cannot encode %s", t))
}

// isEmptyValue reports whether a field is unset and left out.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

// flowIfShort prints a list of scalars that fits on a line in flow style
// ("[a, b]"), the way the examples of DESIGN.md write them.
func flowIfShort(seq *yaml.Node) *yaml.Node {
	width := 0
	for _, n := range seq.Content {
		if n.Kind != yaml.ScalarNode {
			return seq
		}
		width += len(n.Value) + 2
	}
	if width <= flowWidth {
		seq.Style = yaml.FlowStyle
	}
	return seq
}
