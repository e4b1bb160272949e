package daemon

// The routes this speaker originates: the prefixes of the Announcement
// resources of the default VRF. The reconciler builds an originSet from
// the store and swaps it in whole; advertisers and queries read the
// current one. An originSet and its origins are immutable, and an origin
// is reused from one set to the next while its resource's spec does not
// change, so that an advertiser can tell a changed route by pointer.

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/godwit-bgp/godwit/config"
)

// origin is one Announcement resource.
type origin struct {
	name    string
	spec    *config.AnnouncementSpec
	runtime bool // added through the API, not the configuration
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

// syncOrigins takes the Announcements of d.desired (the reconciler's)
// and rebuilds the origin set.
func (d *Daemon) syncOrigins() {
	cfg := map[string]*config.AnnouncementSpec{}
	for name, r := range d.desired.anns {
		if spec, _ := r.Spec.(*config.AnnouncementSpec); spec != nil {
			cfg[name] = spec
		}
	}
	d.originMu.Lock()
	defer d.originMu.Unlock()
	d.annCfg = cfg
	d.rebuildOriginsLocked()
}

// rebuildOriginsLocked builds the origin set from the configured
// Announcements (by name) and then the runtime ones (by prefix), and hands
// it to the RIB when it changed. A prefix in two Announcements is
// originated once, with the attributes of the first; a configured
// Announcement wins over a runtime one.
func (d *Daemon) rebuildOriginsLocked() {
	old := d.origins.Load()
	prev := map[string]*origin{}
	for _, g := range old.groups {
		prev[g.o.name] = g.o
	}
	next := &originSet{byPrefix: map[netip.Prefix]*origin{}}
	total := 0
	add := func(name string, spec *config.AnnouncementSpec, runtime bool) {
		if spec.VRF != "" {
			d.log.Warn("Announcement not originated: VRFs are not implemented yet", "announcement", name, "vrf", spec.VRF)
			return
		}
		o := prev[name]
		if o == nil || !config.SpecEqual(o.spec, spec) {
			o = &origin{name: name, spec: spec, runtime: runtime}
		}
		g := originGroup{o: o}
		for _, p := range spec.Prefixes {
			p = p.Masked()
			if other := next.byPrefix[p]; other != nil {
				if runtime {
					// Shadowed by the configuration: the API told the
					// caller when it added it.
					d.log.Debug("runtime announcement shadowed by a configured one", "prefix", p, "announcement", other.name)
				} else {
					d.log.Warn("prefix announced twice; the first Announcement's attributes are used", "prefix", p, "announcement", name, "first", other.name)
				}
				continue
			}
			next.byPrefix[p] = o
			g.prefixes = append(g.prefixes, p)
		}
		total += len(g.prefixes)
		next.groups = append(next.groups, g)
	}
	for _, name := range slices.Sorted(maps.Keys(d.annCfg)) {
		add(name, d.annCfg[name], false)
	}
	for _, name := range slices.Sorted(maps.Keys(d.annCluster)) {
		add("cluster:"+name, d.annCluster[name], false)
	}
	for _, name := range slices.Sorted(maps.Keys(d.annRedist)) {
		add(redistName(name), d.annRedist[name], false)
	}
	for _, p := range slices.SortedFunc(maps.Keys(d.annRuntime), comparePrefix) {
		add(runtimeName(p), d.annRuntime[p], true)
	}
	if sameOrigins(old, next) {
		return
	}
	d.origins.Store(next)
	d.log.Info("originated routes changed", "announcements", len(next.groups), "prefixes", total)
	d.rib.post(opOrigins{set: next})
	d.notify()
}

// runtimeName names a runtime announcement in the origin set.
func runtimeName(p netip.Prefix) string { return "api:" + p.String() }

// Announced is one originated prefix, for listings.
type Announced struct {
	Prefix netip.Prefix
	// Announcement is the resource's name; Runtime marks one added
	// through the API (AddAnnouncement) rather than the configuration.
	Announcement string
	Runtime      bool
	Spec         *config.AnnouncementSpec
}

// AddAnnouncement originates prefix at run time, with the attributes of
// spec (its Prefixes are ignored), replacing a runtime announcement of the
// same prefix: the local route-injection API that other controllers on the
// node (a CNI plugin, a load-balancer controller) use, so that one speaker
// owns the sessions. Runtime announcements are not saved: they live as
// long as the daemon, and their owner adds them again after a restart.
func (d *Daemon) AddAnnouncement(prefix netip.Prefix, spec config.AnnouncementSpec) error {
	if !prefix.IsValid() {
		return fmt.Errorf("%w: not a prefix", ErrBadAnnouncement)
	}
	if prefix != prefix.Masked() {
		return fmt.Errorf("%w: %s has host bits set (did you mean %s?)", ErrBadAnnouncement, prefix, prefix.Masked())
	}
	if spec.VRF != "" {
		return fmt.Errorf("%w: VRFs are not implemented yet", ErrBadAnnouncement)
	}
	spec.Prefixes = []netip.Prefix{prefix}
	d.originMu.Lock()
	defer d.originMu.Unlock()
	if d.annRuntime == nil {
		d.annRuntime = map[netip.Prefix]*config.AnnouncementSpec{}
	}
	d.annRuntime[prefix] = &spec
	d.rebuildOriginsLocked()
	return nil
}

// DeleteAnnouncement withdraws a runtime announcement; false when there
// was none for prefix.
func (d *Daemon) DeleteAnnouncement(prefix netip.Prefix) bool {
	d.originMu.Lock()
	defer d.originMu.Unlock()
	if _, ok := d.annRuntime[prefix]; !ok {
		return false
	}
	delete(d.annRuntime, prefix)
	d.rebuildOriginsLocked()
	return true
}

// Announcements lists what this speaker originates, by prefix.
func (d *Daemon) Announcements() []Announced {
	set := d.origins.Load()
	var out []Announced
	for _, g := range set.groups {
		for _, p := range g.prefixes {
			out = append(out, Announced{Prefix: p, Announcement: g.o.name, Runtime: g.o.runtime, Spec: g.o.spec})
		}
	}
	slices.SortFunc(out, func(a, b Announced) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out
}

// ErrBadAnnouncement is returned for an announcement that cannot be made.
var ErrBadAnnouncement = errors.New("bad announcement")

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
