package ftrace

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Ring-buffer event header types (type_len values), from header_event.
const (
	typePadding    = 29
	typeTimeExtend = 30
	typeTimeStamp  = 31
	typeDataMax    = 28
	tsShift        = 27
	// absolute timestamps keep only 59 bits; the top bits come from the
	// page's running time (kernel's TS_MSB)
	tsMSBMask = uint64(0xf8) << 56
)

// Commit-field flags of a page header (kernel RB_MISSED_EVENTS and
// RB_MISSED_STORED): events were lost before this page, and their count is
// stored after the page data.
const (
	commitMissed = 1 << 31
	commitStored = 1 << 30
	commitMask   = 1<<30 - 1
)

// PageLayout is the ring-buffer page header as events/header_page says.
type PageLayout struct {
	TimestampOff int
	CommitOff    int
	CommitSize   int // 4 or 8 (local_t)
	DataOff      int
	PageSize     int // DataOff + data size
}

// DefaultPageLayout is the layout of 64-bit kernels with 4 KiB sub-buffers.
var DefaultPageLayout = PageLayout{TimestampOff: 0, CommitOff: 8, CommitSize: 8, DataOff: 16, PageSize: 4096}

// ParseHeaderPage parses events/header_page.
func ParseHeaderPage(b []byte) (PageLayout, error) {
	var l PageLayout
	got := 0
	for n, line := range strings.Split(string(b), "\n") {
		s := strings.TrimSpace(line)
		if !strings.HasPrefix(s, "field:") {
			continue
		}
		fd, err := parseField(s)
		if err != nil {
			return l, &FormatError{n + 1, "header_page: " + err.Error()}
		}
		switch fd.Name {
		case "timestamp":
			l.TimestampOff = fd.Offset
			got |= 1
		case "commit":
			l.CommitOff, l.CommitSize = fd.Offset, fd.Size
			got |= 2
		case "data":
			l.DataOff, l.PageSize = fd.Offset, fd.Offset+fd.Size
			got |= 4
		}
	}
	if got != 7 {
		return l, &FormatError{0, "header_page: missing timestamp, commit or data field"}
	}
	if l.CommitSize != 4 && l.CommitSize != 8 {
		return l, &FormatError{0, fmt.Sprintf("header_page: commit of %d bytes", l.CommitSize)}
	}
	if l.TimestampOff+8 > l.DataOff || l.CommitOff+l.CommitSize > l.DataOff || l.PageSize <= l.DataOff {
		return l, &FormatError{0, "header_page: fields overlap the data"}
	}
	return l, nil
}

// CheckHeaderEvent verifies that events/header_event describes the
// compressed header this decoder knows (5-bit type_len, 27-bit delta,
// padding 29, time extend 30, time stamp 31).
func CheckHeaderEvent(b []byte) error {
	s := string(b)
	for _, want := range [][2]string{{"type_len", "5"}, {"time_delta", "27"}} {
		i := strings.Index(s, want[0])
		if i < 0 {
			return &FormatError{0, "header_event: no " + want[0]}
		}
		rest := s[i+len(want[0]):]
		rest = strings.TrimLeft(rest, " \t:")
		j := strings.IndexByte(rest, ' ')
		if j < 0 || rest[:j] != want[1] {
			return &FormatError{0, fmt.Sprintf("header_event: %s is not %s bits", want[0], want[1])}
		}
	}
	for _, t := range []struct {
		name string
		v    int
	}{{"padding", typePadding}, {"time_extend", typeTimeExtend}} {
		i := strings.Index(s, t.name)
		if i < 0 {
			continue
		}
		rest := s[i:]
		if j := strings.Index(rest, "=="); j >= 0 {
			f := strings.Fields(rest[j+2:])
			if len(f) > 0 {
				if v, err := strconv.Atoi(f[0]); err == nil && v != t.v {
					return &FormatError{0, fmt.Sprintf("header_event: %s type %d, want %d", t.name, v, t.v)}
				}
			}
		}
	}
	return nil
}

// PageError is a malformed ring-buffer page.
type PageError struct {
	Off int
	Msg string
}

func (e *PageError) Error() string {
	return fmt.Sprintf("ring-buffer page: %s at byte 0x%x", e.Msg, e.Off)
}

// Record is one trace event taken from a page. Data aliases the page.
type Record struct {
	TS   uint64 // absolute time, in the instance's trace clock
	Data []byte // event data, starting with common_type
}

// Page decodes the records of one ring-buffer page, as read from
// per_cpu/cpuN/trace_pipe_raw. The zero value is not usable; use Reset.
//
//	var pg ftrace.Page
//	if err := pg.Reset(buf, layout); err != nil { ... }
//	lost := pg.Missed()
//	var r ftrace.Record
//	for pg.Next(&r) { use(r) }
//	if err := pg.Err(); err != nil { ... }
type Page struct {
	b       []byte
	off     int
	end     int
	ts      uint64
	missed  bool
	nmissed uint64
	err     error
}

// Reset starts decoding page b. The returned error concerns the header.
func (p *Page) Reset(b []byte, l PageLayout) error {
	*p = Page{b: b}
	if len(b) < l.DataOff || l.DataOff < l.CommitOff+l.CommitSize || l.DataOff < l.TimestampOff+8 {
		p.err = &PageError{0, fmt.Sprintf("page of %d bytes shorter than its %d-byte header", len(b), l.DataOff)}
		return p.err
	}
	p.ts = binary.LittleEndian.Uint64(b[l.TimestampOff:])
	var commit uint64
	if l.CommitSize == 8 {
		commit = binary.LittleEndian.Uint64(b[l.CommitOff:])
	} else {
		commit = uint64(binary.LittleEndian.Uint32(b[l.CommitOff:]))
	}
	size := int(commit & commitMask)
	p.missed = commit&commitMissed != 0
	p.off = l.DataOff
	p.end = l.DataOff + size
	if p.end > len(b) {
		p.err = &PageError{l.CommitOff, fmt.Sprintf("commit %d beyond the %d-byte page", size, len(b)-l.DataOff)}
		return p.err
	}
	if p.missed && commit&commitStored != 0 {
		// The count of lost events is a long after the data.
		if p.end+l.CommitSize <= len(b) {
			if l.CommitSize == 8 {
				p.nmissed = binary.LittleEndian.Uint64(b[p.end:])
			} else {
				p.nmissed = uint64(binary.LittleEndian.Uint32(b[p.end:]))
			}
		}
	}
	return nil
}

// Timestamp returns the page's base time.
func (p *Page) Timestamp() uint64 { return p.ts }

// Missed reports whether events were lost before this page, and how many
// when the kernel stored the count (0 when unknown).
func (p *Page) Missed() (bool, uint64) { return p.missed, p.nmissed }

// Err returns the decoding error that stopped Next, if any.
func (p *Page) Err() error { return p.err }

// Next decodes the next data record into r. It returns false at the end of
// the page or on error (see Err). Padding and time records are consumed.
func (p *Page) Next(r *Record) bool {
	for p.err == nil && p.off+4 <= p.end {
		start := p.off
		h := binary.LittleEndian.Uint32(p.b[start:])
		typeLen := h & 31
		delta := uint64(h >> 5)
		switch {
		case typeLen == typePadding:
			if delta == 0 {
				// The rest of the page is empty.
				p.off = p.end
				return false
			}
			if start+8 > p.end {
				p.err = &PageError{start, "truncated padding"}
				return false
			}
			n := int(binary.LittleEndian.Uint32(p.b[start+4:]))
			if n < 4 || start+4+n > p.end {
				p.err = &PageError{start, fmt.Sprintf("padding of %d bytes beyond the data", n)}
				return false
			}
			p.off = start + 4 + n
			p.ts += delta
		case typeLen == typeTimeExtend || typeLen == typeTimeStamp:
			if start+8 > p.end {
				p.err = &PageError{start, "truncated time record"}
				return false
			}
			v := uint64(binary.LittleEndian.Uint32(p.b[start+4:]))<<tsShift | delta
			if typeLen == typeTimeExtend {
				p.ts += v
			} else {
				p.ts = v | p.ts&tsMSBMask
			}
			p.off = start + 8
		case typeLen == 0:
			if start+8 > p.end {
				p.err = &PageError{start, "truncated event length"}
				return false
			}
			n := int(binary.LittleEndian.Uint32(p.b[start+4:]))
			if n < 4 {
				p.err = &PageError{start, fmt.Sprintf("event length %d", n)}
				return false
			}
			n = (n - 4 + 3) &^ 3
			if start+8+n > p.end {
				p.err = &PageError{start, fmt.Sprintf("event of %d bytes beyond the data", n)}
				return false
			}
			p.ts += delta
			r.TS, r.Data = p.ts, p.b[start+8:start+8+n]
			p.off = start + 8 + n
			return true
		default:
			n := int(typeLen) * 4
			if start+4+n > p.end {
				p.err = &PageError{start, fmt.Sprintf("event of %d bytes beyond the data", n)}
				return false
			}
			p.ts += delta
			r.TS, r.Data = p.ts, p.b[start+4:start+4+n]
			p.off = start + 4 + n
			return true
		}
	}
	return false
}
