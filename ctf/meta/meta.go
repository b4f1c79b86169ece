package meta

import "fmt"

// ByteOrder is the byte (and, for bit fields, bit) order of a field.
type ByteOrder uint8

const (
	LittleEndian ByteOrder = iota
	BigEndian
)

func (o ByteOrder) String() string {
	if o == BigEndian {
		return "be"
	}
	return "le"
}

// Kind says which field class a Class is.
type Kind uint8

const (
	KindInvalid     Kind = iota
	KindInt              // fixed-length integer, also CTF 2 bit arrays and booleans
	KindEnum             // integer with Mappings
	KindFloat            // IEEE 754 binary32 or binary64 (ExpDig+MantDig)
	KindString           // NUL-terminated string
	KindStruct           // Fields in order
	KindVariant          // one of Options, chosen by Selector
	KindArray            // Length elements of Elem
	KindSequence         // LengthRef elements of Elem
	KindVarInt           // CTF 2 LEB128 variable-length integer (Signed says which)
	KindStaticText       // CTF 2 static-length-string: Length bytes
	KindDynamicText      // CTF 2 dynamic-length-string: LengthRef bytes
	KindStaticBlob       // CTF 2 static-length-blob: Length bytes
	KindDynamicBlob      // CTF 2 dynamic-length-blob: LengthRef bytes
	KindOptional         // CTF 2 optional: Elem present when Selector says so
)

var kindNames = [...]string{"invalid", "integer", "enum", "floating_point", "string", "struct",
	"variant", "array", "sequence", "varint", "static-string", "dynamic-string",
	"static-blob", "dynamic-blob", "optional"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Encoding is the character encoding of an integer, array or sequence. An
// 8-bit integer array or sequence with an encoding other than None is text.
type Encoding uint8

const (
	EncodingNone Encoding = iota
	EncodingUTF8
	EncodingASCII
)

// Role is what a field means to the reader, beyond its value. CTF 1.8 has
// roles by well-known names (magic, stream_id, timestamp_begin, ...); CTF 2
// declares them. Parsers set them on the Class of the field.
type Role uint16

const (
	RoleNone             Role = 0
	RolePacketMagic      Role = 1 << iota // trace.packet.header.magic
	RoleTraceUUID                         // trace.packet.header.uuid
	RoleStreamClassID                     // trace.packet.header.stream_id
	RoleStreamInstanceID                  // trace.packet.header.stream_instance_id
	RolePacketSize                        // stream.packet.context.packet_size (bits)
	RoleContentSize                       // stream.packet.context.content_size (bits)
	RoleTimestampBegin                    // stream.packet.context.timestamp_begin
	RoleTimestampEnd                      // stream.packet.context.timestamp_end
	RoleEventsDiscarded                   // stream.packet.context.events_discarded (snapshot)
	RolePacketSeqNum                      // stream.packet.context.packet_seq_num
	RoleEventClassID                      // stream.event.header.id
	RoleTimestamp                         // a default clock timestamp (event header)
)

// Range is an inclusive range of enumeration values. For a signed
// container the bounds are int64 values stored in two's complement.
type Range struct{ Lo, Hi uint64 }

// Mapping is one enumeration label and the values it covers.
type Mapping struct {
	Label  string
	Ranges []Range
}

// Field is a named member of a struct or an option of a variant. Name is as
// written in the metadata (TSDL keeps the leading underscore; printing
// strips one, as babeltrace2 does).
type Field struct {
	Name  string
	Class *Class
}

// Scope is a dynamic scope of CTF, in decoding order.
type Scope uint8

const (
	ScopeNone                 Scope = iota // relative reference
	ScopePacketHeader                      // trace.packet.header
	ScopePacketContext                     // stream.packet.context
	ScopeEventHeader                       // stream.event.header
	ScopeEventCommonContext                // stream.event.context
	ScopeEventSpecificContext              // event.context
	ScopeEventPayload                      // event.fields
)

var scopeNames = [...]string{"", "trace.packet.header", "stream.packet.context", "stream.event.header",
	"stream.event.context", "event.context", "event.fields"}

func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// FieldRef names a field decoded earlier: the length of a sequence or the
// selector of a variant. Scope is ScopeNone for a relative reference, which
// the compiler resolves from the referring field outwards (CTF 1.8 rules).
// In a CTF 2 relative location an empty name steps up to the parent.
type FieldRef struct {
	Scope Scope
	Path  []string
}

func (r FieldRef) String() string {
	s := r.Scope.String()
	for _, p := range r.Path {
		if s != "" {
			s += "."
		}
		s += p
	}
	return s
}

// Class is a field class. Which members matter depends on Kind.
type Class struct {
	Kind  Kind
	Align int // bits, a power of two; 1 for none
	Role  Role

	// KindInt, KindEnum, KindFloat, KindVarInt.
	Size     int // bits (float: ExpDig+MantDig)
	Signed   bool
	Order    ByteOrder
	Base     int      // display base: 2, 8, 10 or 16
	Encoding Encoding // also for text arrays, sequences and strings
	MapClock string   // name of the clock this integer is a value of ("" if none)
	ExpDig   int      // KindFloat
	MantDig  int      // KindFloat

	Mappings []Mapping // KindEnum

	Fields []Field // KindStruct members, KindVariant options

	Selector FieldRef // KindVariant tag, KindOptional selector
	// SelectorRanges gives, for CTF 2 variants, the selector ranges of each
	// option (same order as Fields); nil when options are chosen by label.
	SelectorRanges [][]Range

	Elem      *Class   // KindArray, KindSequence, KindOptional
	Length    uint64   // KindArray, KindStaticText, KindStaticBlob
	LengthRef FieldRef // KindSequence, KindDynamicText, KindDynamicBlob

	MediaType string // blobs
}

// IsText reports whether c is an array or sequence of 8-bit integers with
// an encoding, which CTF 1.8 readers show as a string.
func (c *Class) IsText() bool {
	return (c.Kind == KindArray || c.Kind == KindSequence) && c.Elem != nil &&
		(c.Elem.Kind == KindInt || c.Elem.Kind == KindEnum) && c.Elem.Size == 8 && c.Elem.Encoding != EncodingNone
}

// FieldIndex returns the index of the struct member or variant option
// called name, or -1.
func (c *Class) FieldIndex(name string) int {
	for i, f := range c.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// EnvEntry is one entry of the trace environment, in metadata order.
type EnvEntry struct {
	Key   string
	Str   string
	Int   int64
	IsInt bool
}

// Clock is a clock class.
type Clock struct {
	Name        string
	Description string
	UUID        [16]byte
	HasUUID     bool
	Freq        uint64 // Hz; 1e9 when not given
	OffsetS     int64  // seconds from origin
	Offset      int64  // cycles from origin, added to OffsetS
	Precision   uint64 // cycles
	Absolute    bool
	// UnixEpoch says the origin is the Unix epoch. CTF 1.8 cannot say it;
	// readers take it as true for clocks of LTTng traces, as babeltrace2.
	UnixEpoch bool
}

// Event is an event record class.
type Event struct {
	ID          uint64
	Name        string
	StreamID    uint64
	LogLevel    int64
	HasLogLevel bool
	EMFURI      string
	Context     *Class // event.context (nil if none)
	Payload     *Class // event.fields (nil if none)
}

// Stream is a data stream class.
type Stream struct {
	ID            uint64
	PacketContext *Class // nil if none
	EventHeader   *Class // nil if none
	EventContext  *Class // stream.event.context, nil if none
	Clock         *Clock // default clock, nil if none
	Events        []*Event
}

// Trace is a trace class: everything the metadata says.
type Trace struct {
	Major, Minor int // 1.8 or 2.0
	UUID         [16]byte
	HasUUID      bool
	ByteOrder    ByteOrder // native byte order
	PacketHeader *Class    // nil if none
	Env          []EnvEntry
	Clocks       []*Clock
	Streams      []*Stream
	// Warnings are things the parser ignored (unknown attributes ...), in
	// the form "metadata line N: ...".
	Warnings []string
}

// EnvString returns the environment string value for key.
func (t *Trace) EnvString(key string) (string, bool) {
	for _, e := range t.Env {
		if e.Key == key {
			if e.IsInt {
				return fmt.Sprint(e.Int), true
			}
			return e.Str, true
		}
	}
	return "", false
}

// Stream returns the stream class with the given id.
func (t *Trace) Stream(id uint64) *Stream {
	for _, s := range t.Streams {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Clock returns the clock class called name.
func (t *Trace) Clock(name string) *Clock {
	for _, c := range t.Clocks {
		if c.Name == name {
			return c
		}
	}
	return nil
}
