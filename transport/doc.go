// Package transport carries BGP messages over TCP: it listens and dials,
// sets the socket options a BGP session needs (TCP MD5, TTL security, DSCP),
// and frames the byte stream into messages. Everything above it works over
// any net.Conn, so that speakers can also run over in-memory pipes.
//
// Layer: transport, just above wire. It imports wire/iana and wire/fault
// (for the Message Header Error a bad header is) and golang.org/x/sys/unix,
// nothing else from this module. Start with Listen and Dial (listen.go,
// dial.go) for sockets, Reader and Writer (reader.go, writer.go) for
// framing; sockopt_linux.go is the only file that talks to the kernel.
//
// # Who owns what
//
//	daemon ──owns──> Listener ──one accept goroutine per socket──> Handler(conn, local, remote)
//	                    ▲                                              │
//	config reload ──SetPeerKey / SetPeerTTL                            ▼
//	                                                     peer dispatcher (peer layer)
//	peer driver ──Dial──> conn ──┬── reader goroutine: Reader.ReadMessage (owns the Reader)
//	                             └── writer goroutine: Writer.WriteMessage, Flush (owns the Writer)
//
// The Listener owns its sockets and goroutines; Close (or cancelling the
// Listen context) stops them and waits. A connection handed to the Handler,
// or returned by Dial, belongs to the caller. A Reader and a Writer each
// belong to one goroutine.
//
// # Listening
//
// With no address, the Listener takes every address on port 179 as two
// sockets, 0.0.0.0 and [::] with IPV6_V6ONLY, so that IPv4 peers stay IPv4
// in every socket option and address (ListenConfig.DualStack chooses one
// dual-stack [::] socket instead; the IPv4-mapped form is then handled
// inside the package). Listening sockets set SO_REUSEADDR.
//
// # TCP MD5 (RFC 2385)
//
// Keys are per peer address, on every listening socket (set before bind for
// ListenConfig.Peers, at any time with SetPeerKey) and on a dialled socket
// before connect. The kernel drops unsigned or wrongly signed segments
// silently, so a key mismatch shows as a connect that never completes,
// never as an error. Accepted sockets inherit the key the listener held at
// SYN time; a changed key applies to new connections only.
//
// # TTL security (GTSM, RFC 5082), multihop TTL, DSCP
//
// TTL is the outgoing TTL (IPv6 hop limit); the caller chooses it: 1 for a
// directly connected eBGP peer, N for eBGP multihop, 255 for iBGP and for
// GTSM. MinTTL is the lowest incoming TTL the kernel lets through
// (IP_MINTTL, IPV6_MINHOPCOUNT): GTSMMinTTL(hops) = 255 - (hops - 1).
// Every socket is marked DSCP CS6 (IP_TOS and IPV6_TCLASS 0xC0).
//
// On a dialled socket both are set before connect, so a SYN-ACK from too
// far away is dropped and the dial times out. A listening socket can only
// have one MinTTL for all peers (the kernel checks it against every SYN),
// so per-peer GTSM on incoming connections is set on the accepted socket,
// as BIRD and FRR do: the TCP handshake with a peer that fails the check
// still completes, and segments it sends after the option is set are
// dropped (its session cannot reach Established and times out), but data
// that arrived between the handshake and the setsockopt after accept —
// typically its OPEN — was queued without the check. ListenConfig.MinTTL closes that gap
// for a listener whose peers all use GTSM. The listening sockets send TTL
// 255 by default, so that a GTSM peer accepts our SYN-ACK.
//
// # Framing
//
// Reader checks each header as RFC 4271 §6.1 says (marker, length against
// 4096 or the RFC 8654 extended 65535, type, length for the type) and
// returns the whole message as a slice of its buffer, with no allocation
// per message; a bad header is a *fault.Error carrying the NOTIFICATION to
// send. Writer coalesces encoded messages into few writes.
//
// # Limits
//
// Linux only for the socket options (elsewhere MD5 and TTL security return
// errors.ErrUnsupported). Not yet: TCP-AO (RFC 5925), sockets bound to a
// VRF device (SO_BINDTODEVICE and the MD5 key's ifindex).
package transport
