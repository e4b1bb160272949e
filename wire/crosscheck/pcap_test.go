package crosscheck

import (
	"encoding/binary"
	"net/netip"
)

// This file writes a classic pcap file (not pcapng) holding one synthetic
// TCP connection to port 179: the handshake, then each BGP message in a
// segment of its own with the right sequence numbers. Checksums are
// computed, so tshark needs no preference to accept them.

// Endpoints of the synthetic session: the speaker under test sends from
// client to server.
var (
	pcapClient     = netip.MustParseAddr("192.0.2.1")
	pcapServer     = netip.MustParseAddr("192.0.2.2")
	pcapClientPort = uint16(40179)
	pcapServerPort = uint16(179)
	pcapClientMAC  = [6]byte{0x02, 0, 0, 0, 0, 1}
	pcapServerMAC  = [6]byte{0x02, 0, 0, 0, 0, 2}
)

// TCP flags.
const (
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// pcapStream builds the file in memory.
type pcapStream struct {
	buf       []byte
	clientSeq uint32 // next sequence number from the client
	serverSeq uint32
	ipID      uint16
	usec      uint64 // timestamp of the next frame, in microseconds
}

// newPcapStream writes the global header and the three-way handshake.
func newPcapStream() *pcapStream {
	p := &pcapStream{clientSeq: 1000, serverSeq: 5000, usec: 1_700_000_000_000_000}
	// Global header: magic, version 2.4, GMT offset, accuracy, snap
	// length, link type 1 (Ethernet), all little-endian.
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0xa1b2c3d4)
	p.buf = binary.LittleEndian.AppendUint16(p.buf, 2)
	p.buf = binary.LittleEndian.AppendUint16(p.buf, 4)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 65535)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 1)

	p.segment(true, tcpSYN, nil)
	p.clientSeq++
	p.segment(false, tcpSYN|tcpACK, nil)
	p.serverSeq++
	p.segment(true, tcpACK, nil)
	return p
}

// send writes one segment with payload from the client (fromClient) or
// the server, and advances that side's sequence number.
func (p *pcapStream) send(fromClient bool, payload []byte) {
	p.segment(fromClient, tcpPSH|tcpACK, payload)
	if fromClient {
		p.clientSeq += uint32(len(payload))
	} else {
		p.serverSeq += uint32(len(payload))
	}
}

// segment appends one frame: Ethernet, IPv4 (20 octets), TCP (20 octets).
func (p *pcapStream) segment(fromClient bool, flags byte, payload []byte) {
	srcMAC, dstMAC := pcapClientMAC, pcapServerMAC
	src, dst := pcapClient.As4(), pcapServer.As4()
	sport, dport := pcapClientPort, pcapServerPort
	seq, ack := p.clientSeq, p.serverSeq
	if !fromClient {
		srcMAC, dstMAC = dstMAC, srcMAC
		src, dst = dst, src
		sport, dport = dport, sport
		seq, ack = ack, seq
	}
	if flags&tcpACK == 0 {
		ack = 0
	}

	tcp := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 5 << 4 // data offset: 5 words, no options
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535) // window
	tcp = append(tcp, payload...)
	// TCP checksum over the pseudo-header (RFC 793 §3.1).
	pseudo := make([]byte, 0, 12)
	pseudo = append(pseudo, src[:]...)
	pseudo = append(pseudo, dst[:]...)
	pseudo = append(pseudo, 0, 6)
	pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], checksum(pseudo, tcp))

	ip := make([]byte, 20)
	ip[0] = 0x45 // version 4, 5 words
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	binary.BigEndian.PutUint16(ip[4:], p.ipID)
	p.ipID++
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64                                 // TTL
	ip[9] = 6                                  // TCP
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))

	frame := make([]byte, 0, 14+len(ip)+len(tcp))
	frame = append(frame, dstMAC[:]...)
	frame = append(frame, srcMAC[:]...)
	frame = append(frame, 0x08, 0x00)
	frame = append(frame, ip...)
	frame = append(frame, tcp...)

	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(p.usec/1_000_000))
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(p.usec%1_000_000))
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(frame)))
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(frame)))
	p.buf = append(p.buf, frame...)
	p.usec += 1000
}

// checksum is the Internet checksum (RFC 1071) of the concatenated parts.
func checksum(parts ...[]byte) uint16 {
	var sum uint32
	odd := false
	var hi byte
	for _, b := range parts {
		for _, c := range b {
			if odd {
				sum += uint32(hi)<<8 | uint32(c)
			} else {
				hi = c
			}
			odd = !odd
		}
	}
	if odd {
		sum += uint32(hi) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
