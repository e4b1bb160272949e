//go:build linux

package netlink

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/godwit-bgp/godwit/fib"
)

// Options configure a Backend.
type Options struct {
	// Namespace is the path of the network namespace to program, such as
	// /run/netns/NAME; empty means the namespace the calling thread is in.
	Namespace string
	// PerRoute writes every route with a request of its own and waits for
	// its acknowledgement, through vishvananda/netlink's Handle, instead
	// of pipelining a batch per sendmsg. It is the common way and several
	// times slower on a full table; kept for comparison (the benchmark
	// measures both) and as a fallback.
	PerRoute bool
	// BatchBytes bounds the messages sent in one sendmsg (default
	// DefaultBatchBytes).
	BatchBytes int
}

// DefaultBatchBytes is the default of Options.BatchBytes: about a thousand
// routes, a size the kernel's socket buffers take without tuning.
const DefaultBatchBytes = 128 << 10

// maxBatchMsgs bounds the messages of one sendmsg, so that even if every one
// fails, the kernel's error replies fit in the receive buffer.
const maxBatchMsgs = 1024

// sockBuf is the send and receive buffer asked for the request socket.
const sockBuf = 4 << 20

// Backend programs Linux kernel routes through rtnetlink. It implements
// fib.Backend and fib.RouteSource.
//
// Ownership: the request socket (writes and dumps) is shared under mu; each
// subscription has a socket and a goroutine of its own.
type Backend struct {
	opts Options
	ns   netns.NsHandle // the target namespace, or netns.None()
	h    *vnl.Handle

	mu  sync.Mutex
	req *nl.NetlinkSocket
	pid uint32
	seq uint32
	enc encoder
}

// New opens the sockets of a backend in the namespace opts names.
func New(opts Options) (*Backend, error) {
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = DefaultBatchBytes
	}
	b := &Backend{opts: opts, ns: netns.None()}
	if opts.Namespace != "" {
		ns, err := netns.GetFromPath(opts.Namespace)
		if err != nil {
			return nil, fmt.Errorf("fib/netlink: namespace %s: %w", opts.Namespace, err)
		}
		b.ns = ns
	}
	fail := func(err error) (*Backend, error) {
		b.Close()
		return nil, fmt.Errorf("fib/netlink: %w", err)
	}
	h, err := vnl.NewHandleAt(b.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fail(err)
	}
	b.h = h
	s, err := nl.GetNetlinkSocketAt(b.ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return fail(err)
	}
	b.req = s
	fd := s.GetFd()
	// Bigger buffers where root may have them, the usual ones otherwise.
	for _, o := range [][2]int{{unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}, {unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[0], sockBuf) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, o[1], sockBuf)
		}
	}
	if snd, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err == nil {
		// A message may take at most the send buffer less a little.
		b.opts.BatchBytes = min(b.opts.BatchBytes, snd/2)
	}
	// Errors without the request echoed, and with the kernel's message;
	// dumps filtered by the kernel (Linux 4.20 and later; older ones
	// refuse the option and send everything, which List filters).
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	if b.pid, err = s.GetPid(); err != nil {
		return fail(err)
	}
	return b, nil
}

// Close releases the sockets. Subscriptions end with their contexts.
func (b *Backend) Close() error {
	if b.h != nil {
		b.h.Close()
	}
	if b.req != nil {
		b.req.Close()
	}
	if b.ns.IsOpen() {
		b.ns.Close()
	}
	return nil
}

// List implements fib.Backend.
func (b *Backend) List(table int, proto fib.Protocol) ([]fib.Route, error) {
	var out []fib.Route
	err := b.dump(table, proto, func(kr fib.KernelRoute) {
		if kr.Protocol == proto && kr.Table == table {
			out = append(out, kr.Route)
		}
	})
	return out, err
}

// Routes implements fib.RouteSource.
func (b *Backend) Routes(table int) ([]fib.KernelRoute, error) {
	var out []fib.KernelRoute
	err := b.dump(table, 0, func(kr fib.KernelRoute) {
		if kr.Table == table {
			out = append(out, kr)
		}
	})
	return out, err
}

// Links implements fib.RouteSource.
func (b *Backend) Links() ([]fib.Link, error) {
	ls, err := b.h.LinkList()
	if err != nil && !errors.Is(err, vnl.ErrDumpInterrupted) {
		return nil, fmt.Errorf("fib/netlink: list links: %w", err)
	}
	if err != nil {
		// The kernel changed while dumping: ask once more.
		if ls, err = b.h.LinkList(); err != nil {
			return nil, fmt.Errorf("fib/netlink: list links: %w", err)
		}
	}
	out := make([]fib.Link, 0, len(ls))
	for _, l := range ls {
		a := l.Attrs()
		out = append(out, fib.Link{
			Index: a.Index,
			Name:  a.Name,
			Up:    a.RawFlags&unix.IFF_UP != 0 && a.RawFlags&unix.IFF_RUNNING != 0,
		})
	}
	return out, nil
}

// dump lists the routes of table (and of proto, when not 0) of both
// families, retrying a dump the kernel interrupted.
func (b *Backend) dump(table int, proto fib.Protocol, f func(fib.KernelRoute)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		var err error
		for try := 0; try < 3; try++ {
			var got []fib.KernelRoute
			err = b.dumpLocked(family, table, proto, func(kr fib.KernelRoute) { got = append(got, kr) })
			if err == nil {
				for _, kr := range got {
					f(kr)
				}
				break
			}
			if !errors.Is(err, vnl.ErrDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("fib/netlink: dump table %d: %w", table, err)
		}
	}
	return nil
}

func (b *Backend) dumpLocked(family uint8, table int, proto fib.Protocol, f func(fib.KernelRoute)) error {
	b.seq++
	seq := b.seq
	b.enc.buf = b.enc.buf[:0]
	b.enc.dumpRequest(family, table, proto, seq)
	if err := b.sendLocked(b.enc.buf); err != nil {
		return err
	}
	interrupted := false
	for {
		msgs, _, err := b.req.Receive()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Pid != b.pid {
				continue // left over from an earlier request
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				if interrupted {
					return vnl.ErrDumpInterrupted
				}
				return nil
			case unix.NLMSG_ERROR:
				if err := nlError(m.Data, m.Header.Flags); err != nil {
					return err
				}
				return nil
			case unix.RTM_NEWROUTE:
				kr, ok, err := decodeRoute(m.Data)
				if err != nil {
					return err
				}
				if ok {
					f(kr)
				}
			}
		}
	}
}

func (b *Backend) sendLocked(buf []byte) error {
	for {
		err := unix.Sendto(b.req.GetFd(), buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err != unix.EINTR {
			return err
		}
	}
}

// nlError turns the body of an NLMSG_ERROR into an error (nil for an
// acknowledgement), with the kernel's extended message when it sent one.
func nlError(data []byte, flags uint16) error {
	if len(data) < 4 {
		return errShort
	}
	errno := -int32(ne.Uint32(data))
	if errno == 0 {
		return nil
	}
	err := error(syscall.Errno(errno))
	if flags&unix.NLM_F_ACK_TLVS == 0 || len(data) < 4+sizeofNlMsghdr {
		return err
	}
	// The request's header (or all of it, without NETLINK_CAP_ACK),
	// then the extended-ack attributes.
	rest := data[4:]
	skip := sizeofNlMsghdr
	if flags&unix.NLM_F_CAPPED == 0 {
		skip = align(int(ne.Uint32(rest)))
	}
	if skip > len(rest) {
		return err
	}
	_ = attrs(rest[skip:], func(typ uint16, v []byte) error {
		if typ == unix.NLMSGERR_ATTR_MSG {
			err = fmt.Errorf("%w: %s", err, unix.ByteSliceToString(v))
		}
		return nil
	})
	return err
}

// Apply implements fib.Backend: the ops go to the kernel in batches of
// messages, one sendmsg each, without waiting for one route before sending
// the next; the kernel answers only failures, and acknowledges the last
// message so that the end of the batch is known.
func (b *Backend) Apply(proto fib.Protocol, ops []fib.Op) error {
	if err := proto.Validate(); err != nil {
		return fmt.Errorf("fib/netlink: %w", err)
	}
	if b.opts.PerRoute {
		return b.applyPerRoute(proto, ops)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := make([]error, len(ops))
	failed := false
	for start := 0; start < len(ops); {
		b.enc.buf = b.enc.buf[:0]
		base := b.seq + 1
		end, last := start, 0
		for end < len(ops) && end-start < maxBatchMsgs && len(b.enc.buf) < b.opts.BatchBytes {
			last = len(b.enc.buf)
			b.enc.route(ops[end], proto, base+uint32(end-start), false)
			end++
		}
		// Only the last message is acknowledged when it succeeds.
		ne.PutUint16(b.enc.buf[last+6:], ne.Uint16(b.enc.buf[last+6:])|unix.NLM_F_ACK)
		b.seq = base + uint32(end-start-1)
		if err := b.sendLocked(b.enc.buf); err != nil {
			return fmt.Errorf("fib/netlink: send %d routes: %w", end-start, err)
		}
		if err := b.collectLocked(base, b.seq, func(i int, err error) {
			errs[start+i] = wrapOpError(ops[start+i], err)
			failed = true
		}); err != nil {
			return fmt.Errorf("fib/netlink: %w", err)
		}
		start = end
	}
	if failed {
		return &fib.ApplyError{Errs: errs}
	}
	return nil
}

// collectLocked reads the answers to the messages first..last: an error
// for each failed one, and the acknowledgement of the last.
func (b *Backend) collectLocked(first, last uint32, fail func(i int, err error)) error {
	for {
		msgs, _, err := b.req.Receive()
		if err != nil {
			// ENOBUFS: answers were lost; the outcome is unknown.
			return fmt.Errorf("read acknowledgements: %w", err)
		}
		for _, m := range msgs {
			seq := m.Header.Seq
			if m.Header.Type != unix.NLMSG_ERROR || seq < first || seq > last || m.Header.Pid != b.pid {
				continue
			}
			if err := nlError(m.Data, m.Header.Flags); err != nil {
				fail(int(seq-first), err)
			}
			if seq == last {
				return nil
			}
		}
	}
}

// wrapOpError adds the op and marks the errors the reconciler acts on.
func wrapOpError(op fib.Op, err error) error {
	switch {
	case op.Kind == fib.OpAdd && errors.Is(err, unix.EEXIST):
		err = fmt.Errorf("%w: %w", fib.ErrExists, err)
	case op.Kind == fib.OpDelete && (errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT)):
		err = fmt.Errorf("%w: %w", fib.ErrNotFound, err)
	}
	return fmt.Errorf("%s %s: %w", op.Kind, op.Route.Prefix, err)
}

// applyPerRoute writes one route per request through the library's Handle.
func (b *Backend) applyPerRoute(proto fib.Protocol, ops []fib.Op) error {
	errs := make([]error, len(ops))
	failed := false
	for i, op := range ops {
		r := toLibRoute(op, proto)
		var err error
		switch op.Kind {
		case fib.OpAdd:
			err = b.h.RouteAdd(r)
		case fib.OpReplace:
			err = b.h.RouteReplace(r)
		case fib.OpDelete:
			err = b.h.RouteDel(r)
		}
		if err != nil {
			errs[i] = wrapOpError(op, err)
			failed = true
		}
	}
	if failed {
		return &fib.ApplyError{Errs: errs}
	}
	return nil
}

func toLibRoute(op fib.Op, proto fib.Protocol) *vnl.Route {
	r := op.Route
	dst := &net.IPNet{IP: r.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(r.Prefix.Bits(), r.Prefix.Addr().BitLen())}
	lr := &vnl.Route{
		Dst:      dst,
		Table:    r.Table,
		Priority: r.Metric,
		Protocol: vnl.RouteProtocol(proto),
	}
	if op.Kind == fib.OpDelete {
		lr.Scope = vnl.SCOPE_NOWHERE
		return lr
	}
	if r.Blackhole {
		lr.Type = unix.RTN_BLACKHOLE
		return lr
	}
	v4 := r.Prefix.Addr().Is4()
	lr.Scope = vnl.SCOPE_LINK
	for _, nh := range r.NextHops {
		if nh.Addr.IsValid() {
			lr.Scope = vnl.SCOPE_UNIVERSE
		}
	}
	if len(r.NextHops) == 1 {
		nh := r.NextHops[0]
		lr.LinkIndex = nh.Ifindex
		switch {
		case !nh.Addr.IsValid():
		case nh.Addr.Is4() == v4:
			lr.Gw = nh.Addr.AsSlice()
		default:
			lr.Via = &vnl.Via{AddrFamily: vnl.FAMILY_V6, Addr: nh.Addr.AsSlice()}
		}
		return lr
	}
	for _, nh := range r.NextHops {
		ni := &vnl.NexthopInfo{LinkIndex: nh.Ifindex, Hops: max(nh.Weight, 1) - 1}
		switch {
		case !nh.Addr.IsValid():
		case nh.Addr.Is4() == v4:
			ni.Gw = nh.Addr.AsSlice()
		default:
			ni.Via = &vnl.Via{AddrFamily: vnl.FAMILY_V6, Addr: nh.Addr.AsSlice()}
		}
		lr.MultiPath = append(lr.MultiPath, ni)
	}
	return lr
}
