package daemon

// The routes this speaker originates: the prefixes of the Announcement
// resources of the default VRF. The reconciler builds an originSet from
// the store and swaps it in whole; advertisers and queries read the
// current one. An originSet and its origins are immutable, and an origin
// is reused from one set to the next while its resource's spec does not
// change, so that an advertiser can tell a changed route by pointer.

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/config"
)

// origin is one Announcement resource.
type origin struct {
	name string
	spec *config.AnnouncementSpec
}

// originGroup is the prefixes one origin gives the set.
type originGroup struct {
	o        *origin
	prefixes []netip.Prefix
}

// originSet is the whole set of originated prefixes.
type originSet struct {
	byPrefix map[netip.Prefix]*origin
	groups   []originGroup // by resource name
}

// syncOrigins rebuilds the origin set from d.desired and wakes every
// advertiser. A prefix in two Announcements is originated once, with the
// attributes of the first by name.
func (d *Daemon) syncOrigins() {
	old := d.origins.Load()
	prev := map[string]*origin{}
	for _, g := range old.groups {
		prev[g.o.name] = g.o
	}
	next := &originSet{byPrefix: map[netip.Prefix]*origin{}}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(d.desired.anns)) {
		spec, _ := d.desired.anns[name].Spec.(*config.AnnouncementSpec)
		if spec == nil {
			continue
		}
		if spec.VRF != "" {
			d.log.Warn("Announcement not originated: VRFs are not implemented yet", "announcement", name, "vrf", spec.VRF)
			continue
		}
		o := prev[name]
		if o == nil || !config.SpecEqual(o.spec, spec) {
			o = &origin{name: name, spec: spec}
		}
		g := originGroup{o: o}
		for _, p := range spec.Prefixes {
			p = p.Masked()
			if other := next.byPrefix[p]; other != nil {
				d.log.Warn("prefix announced twice; the first Announcement's attributes are used", "prefix", p, "announcement", name, "first", other.name)
				continue
			}
			next.byPrefix[p] = o
			g.prefixes = append(g.prefixes, p)
		}
		total += len(g.prefixes)
		next.groups = append(next.groups, g)
	}
	if sameOrigins(old, next) {
		return
	}
	d.origins.Store(next)
	d.log.Info("originated routes changed", "announcements", len(next.groups), "prefixes", total)
	d.rib.post(opOrigins{set: next})
	d.notify()
}

func sameOrigins(a, b *originSet) bool {
	if len(a.byPrefix) != len(b.byPrefix) || len(a.groups) != len(b.groups) {
		return false
	}
	for p, o := range a.byPrefix {
		if b.byPrefix[p] != o {
			return false
		}
	}
	return true
}
