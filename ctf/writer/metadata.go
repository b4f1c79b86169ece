package writer

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// EnvValue is one entry of the TSDL env block: a string or an integer.
type EnvValue struct {
	Key   string
	Str   string
	Int   int64
	IsInt bool
}

// StreamClass is one channel: a CTF stream class with the LTTng kernel
// packet context, the compact event header and an optional event context
// (add-context fields, written before every payload).
type StreamClass struct {
	ID      uint32
	Context []Field
}

// Metadata builds the TSDL text of one LTTng-kernel-style trace. It is safe
// for concurrent use: classes may be added while tracing, and Pending
// returns the text that was not yet written out.
type Metadata struct {
	UUID          [16]byte
	ClockUUID     [16]byte
	ClockOffsetNS int64 // realtime minus monotonic at session start, in ns
	Env           []EnvValue

	mu      sync.Mutex
	streams []StreamClass
	classes []*EventClass
	byName  map[classKey]*EventClass
	nextID  map[uint32]uint32
	text    strings.Builder
	flushed int // bytes of text already returned by Pending
	started bool
}

type classKey struct {
	stream uint32
	name   string
}

// AddStream declares a stream class. It must be called before any event
// class of that stream is added and before the first Pending.
func (m *Metadata) AddStream(s StreamClass) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return fmt.Errorf("metadata: stream class %d added after the header was written", s.ID)
	}
	for _, o := range m.streams {
		if o.ID == s.ID {
			return fmt.Errorf("metadata: stream class %d declared twice", s.ID)
		}
	}
	if err := (&EventClass{Name: "stream context", Fields: s.Context}).validate(); err != nil {
		return err
	}
	m.streams = append(m.streams, s)
	return nil
}

// Add assigns c an id unique within its stream class and appends its
// declaration. Adding a class whose stream and name are already known
// returns the existing class (its fields must match).
func (m *Metadata) Add(c *EventClass) (*EventClass, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byName == nil {
		m.byName = map[classKey]*EventClass{}
		m.nextID = map[uint32]uint32{}
	}
	k := classKey{c.Stream, c.Name}
	if old := m.byName[k]; old != nil {
		if !sameFields(old.Fields, c.Fields) {
			return nil, fmt.Errorf("metadata: event class %q declared twice with different fields", c.Name)
		}
		return old, nil
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	found := false
	for _, s := range m.streams {
		found = found || s.ID == c.Stream
	}
	if !found {
		return nil, fmt.Errorf("metadata: event class %q: unknown stream class %d", c.Name, c.Stream)
	}
	c.ID = m.nextID[c.Stream]
	m.nextID[c.Stream]++
	m.byName[k] = c
	m.classes = append(m.classes, c)
	if m.started {
		m.writeEvent(c)
	}
	return c, nil
}

// Lookup returns the class named name in stream class s, or nil.
func (m *Metadata) Lookup(s uint32, name string) *EventClass {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byName[classKey{s, name}]
}

func sameFields(a, b []Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Pending returns the TSDL text added since the previous call (the whole
// header and all classes at the first call).
func (m *Metadata) Pending() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		m.started = true
		m.writeHeader()
		for _, c := range m.classes {
			m.writeEvent(c)
		}
	}
	s := m.text.String()[m.flushed:]
	m.flushed = m.text.Len()
	return s
}

// Text returns the whole TSDL text (header and all classes).
func (m *Metadata) Text() string {
	m.Pending()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.text.String()
}

func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func (m *Metadata) writeHeader() {
	b := &m.text
	b.WriteString(`/* CTF 1.8 */

typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 64; align = 8; signed = false; } := unsigned long;
typealias integer { size = 5; align = 1; signed = false; } := uint5_t;
typealias integer { size = 27; align = 1; signed = false; } := uint27_t;

trace {
	major = 1;
	minor = 8;
`)
	fmt.Fprintf(b, "\tuuid = \"%s\";\n", uuidString(m.UUID))
	b.WriteString(`	byte_order = le;
	packet.header := struct {
		uint32_t magic;
		uint8_t  uuid[16];
		uint32_t stream_id;
		uint64_t stream_instance_id;
	};
};

env {
`)
	for _, e := range m.Env {
		if e.IsInt {
			fmt.Fprintf(b, "\t%s = %d;\n", e.Key, e.Int)
		} else {
			fmt.Fprintf(b, "\t%s = %s;\n", e.Key, quote(e.Str))
		}
	}
	b.WriteString("};\n\nclock {\n\tname = \"monotonic\";\n")
	fmt.Fprintf(b, "\tuuid = \"%s\";\n", uuidString(m.ClockUUID))
	b.WriteString("\tdescription = \"Monotonic Clock\";\n\tfreq = 1000000000; /* Frequency, in Hz */\n")
	b.WriteString("\t/* clock value offset from Epoch is: offset * (1/freq) */\n")
	fmt.Fprintf(b, "\toffset = %d;\n};\n", m.ClockOffsetNS)
	b.WriteString(`
typealias integer {
	size = 27; align = 1; signed = false;
	map = clock.monotonic.value;
} := uint27_clock_monotonic_t;

typealias integer {
	size = 32; align = 8; signed = false;
	map = clock.monotonic.value;
} := uint32_clock_monotonic_t;

typealias integer {
	size = 64; align = 8; signed = false;
	map = clock.monotonic.value;
} := uint64_clock_monotonic_t;

struct packet_context {
	uint64_clock_monotonic_t timestamp_begin;
	uint64_clock_monotonic_t timestamp_end;
	uint64_t content_size;
	uint64_t packet_size;
	uint64_t packet_seq_num;
	unsigned long events_discarded;
	uint32_t cpu_id;
};

struct event_header_compact {
	enum : uint5_t { compact = 0 ... 30, extended = 31 } id;
	variant <id> {
		struct {
			uint27_clock_monotonic_t timestamp;
		} compact;
		struct {
			uint32_t id;
			uint64_clock_monotonic_t timestamp;
		} extended;
	} v;
} align(8);

struct event_header_large {
	enum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;
	variant <id> {
		struct {
			uint32_clock_monotonic_t timestamp;
		} compact;
		struct {
			uint32_t id;
			uint64_clock_monotonic_t timestamp;
		} extended;
	} v;
} align(8);
`)
	ss := append([]StreamClass(nil), m.streams...)
	sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
	for _, s := range ss {
		fmt.Fprintf(b, "\nstream {\n\tid = %d;\n\tevent.header := struct event_header_compact;\n\tpacket.context := struct packet_context;\n", s.ID)
		if len(s.Context) > 0 {
			b.WriteString("\tevent.context := struct {\n")
			writeFields(b, s.Context, "\t\t")
			b.WriteString("\t};\n")
		}
		b.WriteString("};\n")
	}
}

func (m *Metadata) writeEvent(c *EventClass) {
	b := &m.text
	fmt.Fprintf(b, "\nevent {\n\tname = %s;\n\tid = %d;\n\tstream_id = %d;\n\tfields := struct {\n", quote(c.Name), c.ID, c.Stream)
	writeFields(b, c.Fields, "\t\t")
	b.WriteString("\t};\n};\n")
}

// quote makes a TSDL string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// MetadataMagic starts every packet of a packetized metadata stream.
const MetadataMagic = 0x75D11D57

// metadataHeaderSize is the size of a metadata packet header in bytes.
const metadataHeaderSize = 37

// MetadataPacketSize is the size of each metadata packet LTTng's kernel
// tracer writes (one page).
const MetadataPacketSize = 4096

// AppendMetadataPackets appends text to dst as packetized metadata (the
// form lttng-modules writes): 4 KiB packets whose 37-byte header carries
// the magic, the trace uuid and the content and packet sizes in bits.
func AppendMetadataPackets(dst []byte, uuid [16]byte, text string) []byte {
	const room = MetadataPacketSize - metadataHeaderSize
	for len(text) > 0 {
		n := min(len(text), room)
		var h [metadataHeaderSize]byte
		binary.LittleEndian.PutUint32(h[0:], MetadataMagic)
		copy(h[4:20], uuid[:])
		// checksum (20..24) stays 0
		binary.LittleEndian.PutUint32(h[24:], uint32((metadataHeaderSize+n)*8))
		binary.LittleEndian.PutUint32(h[28:], MetadataPacketSize*8)
		// compression, encryption, checksum schemes: 0
		h[35] = 1 // major
		h[36] = 8 // minor
		dst = append(dst, h[:]...)
		dst = append(dst, text[:n]...)
		dst = append(dst, make([]byte, room-n)...)
		text = text[n:]
	}
	return dst
}
