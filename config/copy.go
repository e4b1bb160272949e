package config

import (
	"bytes"
	"reflect"
)

// deepCopy returns a deep copy of *p. Structs with unexported fields
// (netip.Addr, time.Time) are immutable values and are copied whole.
func deepCopy[T any](p *T) *T {
	out := new(T)
	copyValue(reflect.ValueOf(out).Elem(), reflect.ValueOf(p).Elem())
	return out
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		inner := src.Elem()
		c := reflect.New(inner.Type()).Elem()
		copyValue(c, inner)
		dst.Set(c)
	case reflect.Struct:
		t := src.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				dst.Set(src)
				return
			}
		}
		for i := range t.NumField() {
			copyValue(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

// redact replaces every non-empty Secret in r by Redacted.
func redact(r *Resource) {
	if isNilSpec(r.Spec) {
		return
	}
	redactValue(reflect.ValueOf(r.Spec).Elem())
}

func redactValue(v reflect.Value) {
	if v.Type() == secretType {
		if v.Len() > 0 {
			v.SetString(Redacted)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			redactValue(v.Elem())
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				redactValue(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			redactValue(v.Index(i))
		}
	}
}

// SpecEqual reports whether a and b are the same desired state: same kind
// and the same canonical form (so a nil list equals an empty one).
func SpecEqual(a, b Spec) bool {
	if isNilSpec(a) || isNilSpec(b) {
		return isNilSpec(a) == isNilSpec(b)
	}
	if a.Kind() != b.Kind() {
		return false
	}
	return bytes.Equal(canonical(a), canonical(b))
}

// canonical is the canonical YAML of a spec, secrets included.
func canonical(s Spec) []byte {
	b, err := Marshal([]*Resource{{Kind: s.Kind(), Spec: s}}, PrintOptions{ShowSecrets: true})
	if err != nil {
		// Printing a value of this package's types cannot fail.
		panic("config: " + err.Error())
	}
	return b
}

// statusEqual compares statuses by canonical form.
func statusEqual(a, b *Status) bool {
	if a == nil || b == nil {
		return a == b
	}
	ra := &Resource{Status: a}
	rb := &Resource{Status: b}
	ba, _ := Marshal([]*Resource{ra}, PrintOptions{})
	bb, _ := Marshal([]*Resource{rb}, PrintOptions{})
	return bytes.Equal(ba, bb)
}
