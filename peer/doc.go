// Package peer is one BGP neighbour: the RFC 4271 §8 state machine (pure, in
// fsm.go), capability negotiation, collision detection (§6.8), and the
// goroutines that drive a session over a net.Conn.
//
// Layer: peer. It imports wire (and its subpackages) and transport, and
// knows nothing of routing tables: decoded UPDATEs go up through the small
// interface this package declares, and outbound messages come down as
// pre-encoded buffers so that one encoding can serve many peers.
//
// Start with fsm.go (states, events, actions), then the transcripts in
// testdata/fsm/, which show every transition that matters.
package peer
