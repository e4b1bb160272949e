package crosscheck

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// tshark -T json repeats a key when a field occurs several times at one
// level (the AS numbers of a segment, the path attributes of an UPDATE), so
// it cannot be decoded into maps. jnode keeps every key in order.
type jnode struct {
	key   string
	value string   // a string, number or bool as text; "" for null
	kids  []*jnode // members of an object, elements of an array (key "")
}

// get returns the value of the first child named key, or "".
func (n *jnode) get(key string) string {
	if c := n.child(key); c != nil {
		return c.value
	}
	return ""
}

// child returns the first child named key, or nil.
func (n *jnode) child(key string) *jnode {
	if n == nil {
		return nil
	}
	for _, c := range n.kids {
		if c.key == key {
			return c
		}
	}
	return nil
}

// children returns every child named key, in order.
func (n *jnode) children(key string) []*jnode {
	if n == nil {
		return nil
	}
	var out []*jnode
	for _, c := range n.kids {
		if c.key == key {
			out = append(out, c)
		}
	}
	return out
}

// list returns the children of n, none for a nil node.
func (n *jnode) list() []*jnode {
	if n == nil {
		return nil
	}
	return n.kids
}

// walk calls f for n and every node below it, depth first.
func (n *jnode) walk(f func(*jnode)) {
	f(n)
	for _, c := range n.kids {
		c.walk(f)
	}
}

// readJSONValue reads one JSON value from d as a tree named key.
func readJSONValue(d *json.Decoder, key string) (*jnode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	n := &jnode{key: key}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				c, err := readJSONValue(d, k)
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, c)
			}
		case '[':
			for d.More() {
				c, err := readJSONValue(d, "")
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, c)
			}
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.value = t
	case json.Number:
		n.value = t.String()
	case bool:
		n.value = strconv.FormatBool(t)
	case nil:
	default:
		return nil, fmt.Errorf("unexpected token %T", tok)
	}
	return n, nil
}
