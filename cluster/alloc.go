package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/godwit-bgp/godwit/config"
)

// Allocator hands out pod CIDR blocks to Nodes (Blocks) and addresses to
// LoadBalancers (LoadBalancers), and keeps what it handed out in a JSON
// file, so that a Node keeps its blocks and a LoadBalancer its address
// across restarts. Allocation is deterministic: the same sequence of calls
// on the same resources gives the same results.
//
// The file is rewritten (to a temporary file, then renamed over the old
// one) whenever an allocation changes, before the call returns; when that
// fails, the call changes nothing and returns the error. The blocks of a
// Node and the address of a LoadBalancer that no longer exist stay
// reserved until Release forgets them; a change to a Node or
// LoadBalancer that still exists (new podCIDRs, another pool) is applied
// by the next Blocks or LoadBalancers call.
//
// An Allocator is safe for concurrent use; its calls are serialised by
// mu, which guards state.
type Allocator struct {
	path  string
	mu    sync.Mutex
	state allocations
}

// allocations is the content of the file.
type allocations struct {
	// Version is fileVersion.
	Version int `json:"version"`
	// Blocks are the pod blocks handed to each Node, by Node name.
	Blocks map[string][]netip.Prefix `json:"blocks,omitempty"`
	// LoadBalancers are the addresses allocated from pools, by
	// LoadBalancer name (addresses given in a LoadBalancer are not kept).
	LoadBalancers map[string]netip.Addr `json:"loadBalancers,omitempty"`
}

const fileVersion = 1

// OpenAllocator reads the allocation file at path. A file that does not
// exist is an empty allocation (it is created by the first allocation); a
// file that cannot be read or is not a valid allocation is an error that
// names it.
func OpenAllocator(path string) (*Allocator, error) {
	a := &Allocator{path: path, state: allocations{Version: fileVersion}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the allocation file: %w", err)
	}
	st, err := decodeAllocations(b)
	if err != nil {
		return nil, fmt.Errorf("allocation file %s is corrupt: %w", path, err)
	}
	a.state = st
	return a, nil
}

// decodeAllocations reads and checks the file's content.
func decodeAllocations(b []byte) (allocations, error) {
	var st allocations
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return st, errors.New("the file is empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return st, errors.New("the JSON ends early")
		case errors.As(err, &se):
			return st, fmt.Errorf("%w (at byte %d)", err, se.Offset)
		}
		return st, err
	}
	if dec.More() {
		return st, fmt.Errorf("data after the JSON object")
	}
	if st.Version != fileVersion {
		return st, fmt.Errorf("version %d, want %d", st.Version, fileVersion)
	}
	type owned struct {
		p    netip.Prefix
		node string
	}
	var all []owned
	for _, name := range slices.Sorted(maps.Keys(st.Blocks)) {
		for _, p := range st.Blocks[name] {
			if p.Masked() != p {
				return st, fmt.Errorf("block %s of Node %q has host bits set", p, name)
			}
			for _, o := range all {
				if o.p.Overlaps(p) {
					return st, fmt.Errorf("block %s of Node %q overlaps %s of Node %q", p, name, o.p, o.node)
				}
			}
			all = append(all, owned{p, name})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.LoadBalancers)) {
		if !st.LoadBalancers[name].IsValid() {
			return st, fmt.Errorf("LoadBalancer %q has no address", name)
		}
	}
	return st, nil
}

// shareLocked takes the file's lock (an flock on PATH.lock), so that the
// daemons of several nodes on one machine (the lab) that share the file
// never hand out the same block, and reads the file again for what the
// others allocated meanwhile. The function it returns releases the lock.
func (a *Allocator) shareLocked() (func(), error) {
	lf, err := os.OpenFile(a.path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil // no directory: the write fails and says so
	}
	if err != nil {
		return nil, fmt.Errorf("allocation file lock: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		lf.Close()
		return nil, fmt.Errorf("allocation file lock %s: %w", lf.Name(), err)
	}
	unlock := func() {
		unix.Flock(int(lf.Fd()), unix.LOCK_UN)
		lf.Close()
	}
	b, err := os.ReadFile(a.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		unlock()
		return nil, fmt.Errorf("reading the allocation file: %w", err)
	default:
		st, err := decodeAllocations(b)
		if err != nil {
			unlock()
			return nil, fmt.Errorf("allocation file %s is corrupt: %w", a.path, err)
		}
		a.state = st
	}
	return unlock, nil
}

// commitLocked writes st to the file and makes it the state; on failure
// the state is left as it was.
func (a *Allocator) commitLocked(st allocations) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(a.path, append(b, '\n')); err != nil {
		return fmt.Errorf("writing the allocation file: %w", err)
	}
	a.state = st
	return nil
}

// writeFileAtomic replaces the file at path by b: it writes a temporary
// file in the same directory, syncs it and renames it over path, so that
// a crash leaves either the old content or the new.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, and the data is safe either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// clone copies the state for a change.
func (st allocations) clone() allocations {
	c := allocations{Version: st.Version, Blocks: map[string][]netip.Prefix{}, LoadBalancers: map[string]netip.Addr{}}
	for k, v := range st.Blocks {
		c.Blocks[k] = slices.Clone(v)
	}
	maps.Copy(c.LoadBalancers, st.LoadBalancers)
	return c
}

// Release forgets the blocks of Nodes and the addresses of LoadBalancers
// that are not in rs, so that they can be handed out again. It returns
// the names of those Nodes and LoadBalancers, sorted. Call it when the
// resource set is known to be complete (after a store's initial sync),
// never with a partial one.
func (a *Allocator) Release(rs []*config.Resource) (nodes, loadBalancers []string, err error) {
	v := newView(rs)
	a.mu.Lock()
	defer a.mu.Unlock()
	unlock, err := a.shareLocked()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	st := a.state.clone()
	for _, name := range slices.Sorted(maps.Keys(st.Blocks)) {
		if _, ok := v.byName[name]; !ok {
			delete(st.Blocks, name)
			nodes = append(nodes, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.LoadBalancers)) {
		if !slices.ContainsFunc(v.lbs, func(lb named[config.LoadBalancerSpec]) bool { return lb.name == name }) {
			delete(st.LoadBalancers, name)
			loadBalancers = append(loadBalancers, name)
		}
	}
	if len(nodes)+len(loadBalancers) == 0 {
		return nil, nil, nil
	}
	if err := a.commitLocked(st); err != nil {
		return nil, nil, err
	}
	return nodes, loadBalancers, nil
}
