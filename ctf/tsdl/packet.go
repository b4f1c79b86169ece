package tsdl

import (
	"encoding/binary"
	"fmt"

	"github.com/tracetop/tracetop/ctf/meta"
)

// Metadata packet magic numbers (see docs/format/ctf-metadata.md).
const (
	packetMagic   = 0x75D11D57
	packetHdrSize = 37
)

// PacketHeader is what the first metadata packet header says.
type PacketHeader struct {
	Order        meta.ByteOrder
	UUID         [16]byte
	Major, Minor uint8
	Packets      int
}

// IsPacketized reports whether b starts with a metadata packet header
// (in either byte order) rather than with TSDL or JSON text.
func IsPacketized(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	m := binary.LittleEndian.Uint32(b)
	return m == packetMagic || m == 0x571DD175
}

// Unpacketize extracts the TSDL text of packetized CTF 1.8 metadata: the
// concatenation of the content of every packet, headers and padding
// removed. Both byte orders are accepted; the version must be 1.8.
func Unpacketize(b []byte) (text []byte, err error) {
	text, h, err := UnpacketizeHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Major != 1 || h.Minor != 8 {
		return nil, &PacketError{0, fmt.Sprintf("metadata version %d.%d, want 1.8", h.Major, h.Minor)}
	}
	return text, nil
}

// UnpacketizeHeader is Unpacketize for any version (CTF 2 metadata uses the
// same framing with version 2.0): it returns the text and what the packet
// headers say. Every packet must have the same byte order and version.
func UnpacketizeHeader(b []byte) (text []byte, h PacketHeader, err error) {
	var order binary.ByteOrder
	off := 0
	text = make([]byte, 0, len(b)) // the text is smaller than the packets
	for off < len(b) {
		if len(b)-off < packetHdrSize {
			return nil, h, &PacketError{int64(off), fmt.Sprintf("truncated header: %d bytes left, want %d", len(b)-off, packetHdrSize)}
		}
		p := b[off:]
		var o binary.ByteOrder
		var mo meta.ByteOrder
		switch binary.LittleEndian.Uint32(p) {
		case packetMagic:
			o, mo = binary.LittleEndian, meta.LittleEndian
		case 0x571DD175:
			o, mo = binary.BigEndian, meta.BigEndian
		default:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("bad magic %#x (want %#x)", binary.LittleEndian.Uint32(p), packetMagic)}
		}
		if order == nil {
			order = o
			h.Order = mo
			copy(h.UUID[:], p[4:20])
			h.Major, h.Minor = p[35], p[36]
		} else if o != order {
			return nil, h, &PacketError{int64(off), "byte order differs from the first packet's"}
		}
		content := o.Uint32(p[24:])
		size := o.Uint32(p[28:])
		switch {
		case p[32] != 0:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("compression scheme %d not supported", p[32])}
		case p[33] != 0:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("encryption scheme %d not supported", p[33])}
		case p[34] != 0:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("checksum scheme %d not supported", p[34])}
		case p[35] != h.Major || p[36] != h.Minor:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("version %d.%d differs from the first packet's %d.%d", p[35], p[36], h.Major, h.Minor)}
		case content%8 != 0 || size%8 != 0:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("content size %d or packet size %d bits is not a whole number of bytes", content, size)}
		case content < packetHdrSize*8:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("content size %d bits is smaller than the %d-byte header", content, packetHdrSize)}
		case size < content:
			return nil, h, &PacketError{int64(off), fmt.Sprintf("content size %d bits is larger than packet size %d bits", content, size)}
		case int64(content/8) > int64(len(p)):
			return nil, h, &PacketError{int64(off), fmt.Sprintf("content size %d bits runs past the end of the metadata (%d bytes left)", content, len(p))}
		}
		text = append(text, p[packetHdrSize:content/8]...)
		h.Packets++
		if int64(size/8) >= int64(len(p)) {
			break
		}
		off += int(size / 8)
	}
	if order == nil {
		return nil, h, &PacketError{0, "empty metadata"}
	}
	return text, h, nil
}

// ParseMetadata parses the bytes of a CTF 1.8 metadata file, plain text or
// packetized. For packetized metadata it also checks that the packets'
// byte order is the trace's.
func ParseMetadata(b []byte) (*meta.Trace, error) {
	if !IsPacketized(b) {
		return Parse(b)
	}
	text, h, err := UnpacketizeHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Major != 1 || h.Minor != 8 {
		return nil, &PacketError{0, fmt.Sprintf("metadata version %d.%d, want 1.8", h.Major, h.Minor)}
	}
	tr, err := Parse(text)
	if err != nil {
		return nil, err
	}
	if tr.ByteOrder != h.Order {
		return nil, &PacketError{0, fmt.Sprintf("metadata packets are %s but the trace byte_order is %s", orderName(h.Order), orderName(tr.ByteOrder))}
	}
	return tr, nil
}

func orderName(o meta.ByteOrder) string {
	if o == meta.BigEndian {
		return "big-endian"
	}
	return "little-endian"
}
