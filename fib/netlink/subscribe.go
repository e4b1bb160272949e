//go:build linux

package netlink

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/godwit-bgp/godwit/fib"
)

// eventSockBuf is the receive buffer of a subscription: room for a burst of
// some ten thousand notifications before the kernel drops some (and the
// reader hears fib.EventLost).
const eventSockBuf = 8 << 20

// Subscribe implements fib.Backend and fib.RouteSource. Route events of
// opts.SkipProtocol are dropped by a socket filter in the kernel, so that a
// full table written by the reconciler costs the resolver nothing.
//
// Goroutines: a reader, which owns the socket and the channel and closes
// the channel last, and a closer that closes the socket when ctx is done
// (which is what ends a blocked read):
//
//	kernel --socket--> reader --ch (cap 256)--> subscriber
//	                     ^
//	ctx.Done --> closer -+ (closes the socket)
func (b *Backend) Subscribe(ctx context.Context, opts fib.SubscribeOptions) (<-chan fib.Event, error) {
	var groups []uint
	if opts.Links {
		groups = append(groups, unix.RTNLGRP_LINK)
	}
	if opts.Routes {
		groups = append(groups, unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE)
	}
	if len(groups) == 0 {
		return nil, errors.New("fib/netlink: subscription to nothing")
	}
	s, err := nl.SubscribeAt(b.ns, netns.None(), unix.NETLINK_ROUTE, groups...)
	if err != nil {
		return nil, fmt.Errorf("fib/netlink: subscribe: %w", err)
	}
	if err := s.SetReceiveBufferSize(eventSockBuf, true); err != nil {
		_ = s.SetReceiveBufferSize(eventSockBuf, false)
	}
	if opts.Routes && opts.SkipProtocol != 0 {
		if err := attachSkipFilter(s.GetFd(), opts.SkipProtocol); err != nil {
			s.Close()
			return nil, fmt.Errorf("fib/netlink: socket filter: %w", err)
		}
	}
	ch := make(chan fib.Event, 256)
	stop := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-ctx.Done():
		case <-stop:
		}
		s.Close()
	}()
	go func() {
		defer func() {
			close(stop)
			<-closed
			close(ch)
		}()
		send := func(ev fib.Event) bool {
			select {
			case ch <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			msgs, from, err := s.Receive()
			if errors.Is(err, unix.ENOBUFS) {
				if !send(fib.Event{Kind: fib.EventLost}) {
					return
				}
				continue
			}
			if err != nil {
				return // closed, or broken: the subscriber starts again
			}
			if from.Pid != nl.PidKernel {
				continue
			}
			for _, m := range msgs {
				ev, ok := parseEvent(m.Header.Type, m.Data, opts.SkipProtocol)
				if ok && !send(ev) {
					return
				}
			}
		}
	}()
	return ch, nil
}

func parseEvent(typ uint16, data []byte, skip fib.Protocol) (fib.Event, bool) {
	switch typ {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		kr, ok, err := decodeRoute(data)
		if err != nil || !ok || (skip != 0 && kr.Protocol == skip) {
			return fib.Event{}, false
		}
		kind := fib.EventRouteAdd
		if typ == unix.RTM_DELROUTE {
			kind = fib.EventRouteDelete
		}
		return fib.Event{Kind: kind, Route: kr}, true
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		l, err := decodeLink(data)
		if err != nil {
			return fib.Event{}, false
		}
		kind := fib.EventLink
		if typ == unix.RTM_DELLINK {
			kind = fib.EventLinkDelete
		}
		return fib.Event{Kind: kind, Link: l}, true
	}
	return fib.Event{}, false
}

// attachSkipFilter drops route notifications of protocol p in the kernel.
// Each notification is an skb of its own, so the filter sees one message:
// the netlink header, then the rtmsg whose sixth byte is rtm_protocol.
func attachSkipFilter(fd int, p fib.Protocol) error {
	// BPF loads half-words in network order; nlmsg_type is in host order.
	asLoaded := func(v uint16) uint32 {
		var b [2]byte
		ne.PutUint16(b[:], v)
		return uint32(binary.BigEndian.Uint16(b[:]))
	}
	const (
		ldh  = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
		ldb  = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		keep = 0xffffffff
	)
	prog := []unix.SockFilter{
		{Code: ldh, K: 4}, // 0: A = nlmsg_type
		{Code: jeq, Jt: 1, Jf: 0, K: asLoaded(unix.RTM_NEWROUTE)}, // 1: route? -> 3
		{Code: jeq, Jt: 0, Jf: 3, K: asLoaded(unix.RTM_DELROUTE)}, // 2: route? -> 3, else -> 6
		{Code: ldb, K: sizeofNlMsghdr + 5},                        // 3: A = rtm_protocol
		{Code: jeq, Jt: 0, Jf: 1, K: uint32(p)},                   // 4: ours? -> 5, else -> 6
		{Code: ret, K: 0},                                         // 5: drop
		{Code: ret, K: keep},                                      // 6: keep
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{
		Len:    uint16(len(prog)),
		Filter: &prog[0],
	})
}
