package pcapreplay

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"time"
)

// Segment is a piece of one direction's byte stream.
type Segment struct {
	Time time.Duration // since the first packet of the capture
	Off  int           // offset of Data in the direction's stream
	Data []byte
}

// Stream is one direction of a connection, in stream order.
type Stream struct {
	Segments []Segment
}

// Bytes returns the whole reassembled stream.
func (s *Stream) Bytes() []byte {
	var b []byte
	for _, g := range s.Segments {
		b = append(b, g.Data...)
	}
	return b
}

// TimeAt returns the capture time of the segment holding stream offset off.
func (s *Stream) TimeAt(off int) time.Duration {
	for _, g := range s.Segments {
		if off < g.Off+len(g.Data) {
			return g.Time
		}
	}
	if n := len(s.Segments); n > 0 {
		return s.Segments[n-1].Time
	}
	return 0
}

// Conn is one TCP connection.
type Conn struct {
	ClientPort, ServerPort uint16
	Start                  time.Duration // time of the SYN (or first packet)
	Client                 Stream        // client to server
	Server                 Stream        // server to client
}

type key struct {
	a, b   string
	pa, pb uint16
}

type dirState struct {
	isn     uint32
	haveISN bool
	segs    map[uint32]Segment // by relative seq
}

type connState struct {
	c      *Conn
	client key // direction client->server
	dirs   [2]dirState
}

// ReadFile parses a capture file.
func ReadFile(path string) ([]*Conn, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a classic libpcap capture held in memory.
func Parse(b []byte) ([]*Conn, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("pcap: file of %d bytes has no header", len(b))
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	default:
		switch binary.BigEndian.Uint32(b) {
		case 0xa1b2c3d4:
			bo = binary.BigEndian
		case 0xa1b23c4d:
			bo, nano = binary.BigEndian, true
		default:
			return nil, fmt.Errorf("pcap: bad magic 0x%x at byte 0x0", binary.LittleEndian.Uint32(b))
		}
	}
	link := bo.Uint32(b[20:])
	conns := map[key]*connState{}
	var order []*connState
	var t0 time.Duration
	first := true
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			return nil, fmt.Errorf("pcap: truncated record header at byte 0x%x", off)
		}
		sec, frac, incl := bo.Uint32(b[off:]), bo.Uint32(b[off+4:]), int(bo.Uint32(b[off+8:]))
		if incl < 0 || off+16+incl > len(b) {
			return nil, fmt.Errorf("pcap: record of %d bytes past the end at byte 0x%x", incl, off)
		}
		frame := b[off+16 : off+16+incl]
		off += 16 + incl
		ts := time.Duration(sec) * time.Second
		if nano {
			ts += time.Duration(frac)
		} else {
			ts += time.Duration(frac) * time.Microsecond
		}
		if first {
			t0, first = ts, false
		}
		src, dst, tcp, ok := ipTCP(link, frame)
		if !ok || len(tcp) < 20 {
			continue
		}
		sport, dport := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		seq := binary.BigEndian.Uint32(tcp[4:])
		doff := int(tcp[12]>>4) * 4
		flags := tcp[13]
		if doff < 20 || doff > len(tcp) {
			continue
		}
		payload := tcp[doff:]
		k := key{src, dst, sport, dport}
		rk := key{dst, src, dport, sport}
		cs, dir := conns[k], 0
		if cs == nil {
			if cs = conns[rk]; cs != nil {
				dir = 1
			}
		}
		syn := flags&0x02 != 0
		if cs == nil || (syn && flags&0x10 == 0 && dir == 0 && cs.dirs[0].haveISN && seq != cs.dirs[0].isn) {
			// New connection: the SYN sender (or first talker) is the client.
			cs = &connState{c: &Conn{ClientPort: sport, ServerPort: dport, Start: ts - t0}, client: k}
			cs.dirs[0].segs, cs.dirs[1].segs = map[uint32]Segment{}, map[uint32]Segment{}
			if syn && flags&0x10 != 0 { // SYN-ACK first: the sender is the server
				cs.c.ClientPort, cs.c.ServerPort, cs.client = dport, sport, rk
				dir = 1
			}
			conns[cs.client] = cs
			delete(conns, key{cs.client.b, cs.client.a, cs.client.pb, cs.client.pa})
			order = append(order, cs)
		}
		d := &cs.dirs[dir]
		if syn {
			d.isn, d.haveISN = seq+1, true
			continue
		}
		if len(payload) == 0 {
			continue
		}
		if !d.haveISN {
			d.isn, d.haveISN = seq, true
		}
		rel := seq - d.isn
		if _, dup := d.segs[rel]; !dup {
			d.segs[rel] = Segment{Time: ts - t0, Off: int(rel), Data: append([]byte(nil), payload...)}
		}
	}
	out := make([]*Conn, 0, len(order))
	for _, cs := range order {
		cs.c.Client = assemble(cs.dirs[0].segs)
		cs.c.Server = assemble(cs.dirs[1].segs)
		out = append(out, cs.c)
	}
	return out, nil
}

// assemble orders segments and cuts retransmitted overlaps.
func assemble(m map[uint32]Segment) Stream {
	segs := make([]Segment, 0, len(m))
	for _, s := range m {
		segs = append(segs, s)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].Off < segs[j].Off })
	var st Stream
	next := 0
	for _, s := range segs {
		if s.Off+len(s.Data) <= next {
			continue
		}
		if s.Off < next {
			s.Data = s.Data[next-s.Off:]
			s.Off = next
		}
		if s.Off > next { // hole: stop at the first missing byte
			break
		}
		st.Segments = append(st.Segments, s)
		next = s.Off + len(s.Data)
	}
	return st
}

func ipTCP(link uint32, f []byte) (src, dst string, tcp []byte, ok bool) {
	var etype uint16
	var p []byte
	switch link {
	case 1:
		if len(f) < 14 {
			return
		}
		etype, p = binary.BigEndian.Uint16(f[12:]), f[14:]
	case 113:
		if len(f) < 16 {
			return
		}
		etype, p = binary.BigEndian.Uint16(f[14:]), f[16:]
	case 0:
		if len(f) < 4 {
			return
		}
		etype, p = 0x86dd, f[4:]
		if binary.LittleEndian.Uint32(f) == 2 {
			etype = 0x0800
		}
	default:
		return
	}
	switch etype {
	case 0x0800:
		if len(p) < 20 {
			return
		}
		ihl, total := int(p[0]&0xf)*4, int(binary.BigEndian.Uint16(p[2:]))
		if p[9] != 6 || ihl < 20 || total > len(p) || ihl > total {
			return
		}
		return string(p[12:16]), string(p[16:20]), p[ihl:total], true
	case 0x86dd:
		if len(p) < 40 || p[6] != 6 {
			return
		}
		plen := int(binary.BigEndian.Uint16(p[4:]))
		if 40+plen > len(p) {
			return
		}
		return string(p[8:24]), string(p[24:40]), p[40 : 40+plen], true
	}
	return
}
