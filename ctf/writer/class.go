package writer

import (
	"fmt"
	"strings"
)

// Kind is the CTF type of one event field.
type Kind uint8

const (
	// Int is an integer of Bits bits (8, 16, 32 or 64), byte-aligned.
	Int Kind = iota
	// String is a NUL-terminated UTF-8 string.
	String
	// Text is a fixed array of Len bytes with UTF-8 encoding (LTTng's
	// ctf_array_text, e.g. the 16-byte comm fields).
	Text
	// Array is a fixed array of Len integers of Bits bits.
	Array
	// Sequence is an integer length of LenBits bits named "_NAME_length"
	// followed by that many integers of Bits bits (LTTng's ctf_sequence).
	Sequence
)

// Field is one field of an event payload or of the stream event context.
// Every field is byte-aligned, as lttng-modules lays them out on x86.
type Field struct {
	Name      string
	Kind      Kind
	Bits      uint8 // integer size (Int, Array and Sequence elements)
	Signed    bool
	Base      uint8 // 10 (default), 16 or 8
	BigEndian bool  // network byte order (e.g. address_ipv4)
	Len       int   // Text and Array: element count
	LenBits   uint8 // Sequence: size of the length integer (default 8)
}

// Convenience constructors for the common field shapes.
func U8(name string) Field  { return Field{Name: name, Bits: 8} }
func U16(name string) Field { return Field{Name: name, Bits: 16} }
func U32(name string) Field { return Field{Name: name, Bits: 32} }
func U64(name string) Field { return Field{Name: name, Bits: 64} }
func I8(name string) Field  { return Field{Name: name, Bits: 8, Signed: true} }
func I16(name string) Field { return Field{Name: name, Bits: 16, Signed: true} }
func I32(name string) Field { return Field{Name: name, Bits: 32, Signed: true} }
func I64(name string) Field { return Field{Name: name, Bits: 64, Signed: true} }
func Hex64(name string) Field {
	return Field{Name: name, Bits: 64, Base: 16}
}
func Str(name string) Field { return Field{Name: name, Kind: String} }
func Comm(name string) Field {
	return Field{Name: name, Kind: Text, Bits: 8, Len: 16}
}

// EventClass is one CTF event class: a name and typed payload fields.
// The ID is assigned by Metadata.Add and is unique within the trace.
type EventClass struct {
	ID     uint32
	Stream uint32 // stream class (channel) id
	Name   string
	Fields []Field
}

// tsdlInt writes the inline TSDL integer type of f (element type for arrays).
func tsdlInt(b *strings.Builder, bits uint8, signed bool, base uint8, utf8, be bool) {
	s := 0
	if signed {
		s = 1
	}
	if base == 0 {
		base = 10
	}
	enc := "none"
	if utf8 {
		enc = "UTF8"
	}
	fmt.Fprintf(b, "integer { size = %d; align = 8; signed = %d; encoding = %s; base = %d;", bits, s, enc, base)
	if be {
		b.WriteString(" byte_order = be;")
	}
	b.WriteString(" }")
}

// validate reports the first malformed field of c.
func (c *EventClass) validate() error {
	if c.Name == "" {
		return fmt.Errorf("event class %d: empty name", c.ID)
	}
	for i, f := range c.Fields {
		if f.Name == "" || strings.ContainsAny(f.Name, " \t\n;{}[]\"") {
			return fmt.Errorf("event class %q: field %d: bad name %q", c.Name, i, f.Name)
		}
		switch f.Kind {
		case Int, Array, Sequence:
			switch f.Bits {
			case 8, 16, 32, 64:
			default:
				return fmt.Errorf("event class %q: field %q: integer size %d not 8, 16, 32 or 64", c.Name, f.Name, f.Bits)
			}
			if f.Kind == Sequence {
				switch f.LenBits {
				case 0, 8, 16, 32, 64:
				default:
					return fmt.Errorf("event class %q: field %q: length size %d", c.Name, f.Name, f.LenBits)
				}
			}
		case String:
		case Text:
			if f.Len <= 0 {
				return fmt.Errorf("event class %q: field %q: text length %d", c.Name, f.Name, f.Len)
			}
		default:
			return fmt.Errorf("event class %q: field %q: unknown kind %d", c.Name, f.Name, f.Kind)
		}
	}
	return nil
}

// writeFields writes the TSDL declarations of fs, one per line, each
// prefixed by indent. Names get LTTng's leading underscore.
func writeFields(b *strings.Builder, fs []Field, indent string) {
	for _, f := range fs {
		b.WriteString(indent)
		switch f.Kind {
		case Int:
			tsdlInt(b, f.Bits, f.Signed, f.Base, false, f.BigEndian)
			fmt.Fprintf(b, " _%s;\n", f.Name)
		case String:
			fmt.Fprintf(b, "string _%s;\n", f.Name)
		case Text:
			tsdlInt(b, 8, false, 10, true, false)
			fmt.Fprintf(b, " _%s[%d];\n", f.Name, f.Len)
		case Array:
			tsdlInt(b, f.Bits, f.Signed, f.Base, false, f.BigEndian)
			fmt.Fprintf(b, " _%s[%d];\n", f.Name, f.Len)
		case Sequence:
			lb := f.LenBits
			if lb == 0 {
				lb = 8
			}
			tsdlInt(b, lb, false, 10, false, false)
			fmt.Fprintf(b, " __%s_length;\n%s", f.Name, indent)
			tsdlInt(b, f.Bits, f.Signed, f.Base, false, f.BigEndian)
			fmt.Fprintf(b, " _%s[ __%s_length ];\n", f.Name, f.Name)
		}
	}
}
