package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// linkTypeLinuxSLL2 is tcpdump's "-i any" link type since libpcap 1.10
// (276). gopacket v1.1.19 predates it and keeps link types in a byte, so
// pcapgo hands it over as 276 & 0xff; no assigned link type has that
// number.
const linkTypeLinuxSLL2 layers.LinkType = 276 & 0xff

// tcpSegment is what the decoder needs of one captured TCP segment.
type tcpSegment struct {
	src, dst           netip.AddrPort
	seq                uint32
	syn, ack, fin, rst bool
	payload            []byte
	// missing counts payload bytes the IP header announces but the
	// capture does not hold (snap length).
	missing int
}

// frameResult says what a frame was, when it was not a usable segment.
type frameResult int

const (
	frameTCP frameResult = iota
	frameOther
	frameFragment
	frameBadLink
	frameTruncatedHeader
)

// parseFrame extracts the TCP segment of one captured frame.
func parseFrame(data []byte, link layers.LinkType) (tcpSegment, frameResult, error) {
	var dec gopacket.Decoder
	switch link {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw, layers.LinkTypeNull,
		layers.LinkTypeLoop, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		dec = link
	case 12, 14: // DLT_RAW on some systems
		dec = layers.LinkTypeRaw
	case linkTypeLinuxSLL2:
		if len(data) < 20 {
			return tcpSegment{}, frameTruncatedHeader, nil
		}
		dec = layers.EthernetType(binary.BigEndian.Uint16(data[0:2]))
		data = data[20:]
	default:
		return tcpSegment{}, frameBadLink, fmt.Errorf("link type %s (%d) is not supported", link, int(link))
	}
	pkt := gopacket.NewPacket(data, dec, gopacket.DecodeOptions{NoCopy: true})
	var seg tcpSegment
	var ipPayload, declared int
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		if ip.Protocol != layers.IPProtocolTCP {
			return seg, frameOther, nil
		}
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return seg, frameFragment, nil
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		seg.src, seg.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		declared = int(ip.Length) - int(ip.IHL)*4
		ipPayload = len(ip.Payload)
	case *layers.IPv6:
		if pkt.Layer(layers.LayerTypeIPv6Fragment) != nil {
			return seg, frameFragment, nil
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		seg.src, seg.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		declared = int(ip.Length)
		ipPayload = len(ip.Payload)
		if ip.Length == 0 { // jumbogram: length in an option, not checked
			declared = ipPayload
		}
	default:
		return seg, frameOther, nil
	}
	tl, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tl == nil {
		if pkt.ErrorLayer() != nil || pkt.Metadata().Truncated {
			return seg, frameTruncatedHeader, nil
		}
		return seg, frameOther, nil
	}
	seg.src = netip.AddrPortFrom(seg.src.Addr(), uint16(tl.SrcPort))
	seg.dst = netip.AddrPortFrom(seg.dst.Addr(), uint16(tl.DstPort))
	seg.seq = tl.Seq
	seg.syn, seg.ack, seg.fin, seg.rst = tl.SYN, tl.ACK, tl.FIN, tl.RST
	seg.payload = tl.Payload
	if m := declared - ipPayload; m > 0 {
		seg.missing = m
	}
	return seg, frameTCP, nil
}
