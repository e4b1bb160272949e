package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Owners of resources. API clients use "api:<client>".
const (
	OwnerFile = "file"
)

// APIOwner is the owner of resources written through the API by client.
func APIOwner(client string) string { return "api:" + client }

// ApplyResult lists what Apply changed.
type ApplyResult struct {
	Added, Modified, Deleted, Unchanged []Ref
}

// Changed reports whether Apply wrote anything.
func (r ApplyResult) Changed() bool {
	return len(r.Added)+len(r.Modified)+len(r.Deleted) > 0
}

func (r ApplyResult) String() string {
	return fmt.Sprintf("%d added, %d modified, %d deleted, %d unchanged",
		len(r.Added), len(r.Modified), len(r.Deleted), len(r.Unchanged))
}

// Apply makes the resources of owner in s be exactly rs: it creates what is
// new, updates what changed (a new version, one Modified event), deletes
// what owner has in s but rs lacks, and leaves the rest alone (no write,
// no event). Resources of other owners are never modified or deleted: a
// file reload does not touch what the API wrote. The metadata of rs other
// than the names, and their status, are ignored.
//
// Before writing anything, Apply validates rs as a whole (Validate) and
// checks that no resource of rs exists under another owner; either failure
// returns the errors and leaves s untouched.
//
// The writes are one compare-and-swap each, creations and updates in
// KindOrder and then deletions in the reverse order, so that a watcher
// never sees a reference to a missing resource. They are not one
// transaction: if another writer changes one of owner's resources in
// between, Apply stops with an error matching ErrConflict, having applied
// what it reports; running Apply again finishes the job.
func Apply(ctx context.Context, s Store, rs []*Resource, owner string) (ApplyResult, error) {
	var res ApplyResult
	if p := ownerProblem(owner); p != "" {
		return res, fmt.Errorf("config: apply: owner %s", p)
	}
	if err := Validate(rs); err != nil {
		return res, err
	}
	current, err := s.List(ctx, "")
	if err != nil {
		return res, fmt.Errorf("config: apply: %w", err)
	}
	stored := make(map[Ref]*Resource, len(current))
	for _, r := range current {
		stored[r.Ref()] = r
	}

	desired := slices.Clone(rs)
	SortResources(desired)
	type write struct {
		r        *Resource
		expected uint64
		created  bool
	}
	var (
		writes    []write
		conflicts []error
		want      = map[Ref]bool{}
	)
	for _, r := range desired {
		ref := r.Ref()
		want[ref] = true
		cur := stored[ref]
		switch {
		case cur == nil:
			writes = append(writes, write{r: r, created: true})
		case cur.Metadata.Owner != owner:
			conflicts = append(conflicts, fmt.Errorf("%s is owned by %q, not %q; remove it there first or rename it", ref, cur.Metadata.Owner, owner))
		case SpecEqual(cur.Spec, r.Spec):
			res.Unchanged = append(res.Unchanged, ref)
		default:
			writes = append(writes, write{r: r, expected: cur.Metadata.ResourceVersion})
		}
	}
	if len(conflicts) > 0 {
		return ApplyResult{}, errors.Join(conflicts...)
	}
	var deletes []*Resource
	for _, r := range current {
		if r.Metadata.Owner == owner && !want[r.Ref()] {
			deletes = append(deletes, r)
		}
	}
	SortResources(deletes)
	slices.Reverse(deletes)

	for _, w := range writes {
		n := &Resource{APIVersion: APIVersion, Kind: w.r.Kind, Metadata: Metadata{Name: w.r.Metadata.Name, Owner: owner}, Spec: w.r.Spec}
		if _, err := s.CompareAndSwap(ctx, n, w.expected); err != nil {
			return res, fmt.Errorf("config: apply: %w", err)
		}
		if w.created {
			res.Added = append(res.Added, n.Ref())
		} else {
			res.Modified = append(res.Modified, n.Ref())
		}
	}
	for _, r := range deletes {
		if err := s.Delete(ctx, r.Kind, r.Metadata.Name, r.Metadata.ResourceVersion); err != nil {
			return res, fmt.Errorf("config: apply: %w", err)
		}
		res.Deleted = append(res.Deleted, r.Ref())
	}
	return res, nil
}
