package ftrace

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// FieldKind tells how a tracefs field is stored in a record.
type FieldKind uint8

const (
	// FieldInt is an integer of Size bytes (1, 2, 4 or 8).
	FieldInt FieldKind = iota
	// FieldChars is a fixed char array of Size bytes (e.g. comm[16]).
	FieldChars
	// FieldArray is a fixed array of ArrayLen integers of ElemSize bytes.
	FieldArray
	// FieldDataLoc is a __data_loc: a u32 at Offset holding the offset (low
	// 16 bits) and length (high 16 bits) of dynamic data in the record.
	FieldDataLoc
	// FieldRelLoc is a __rel_loc: like FieldDataLoc, offset relative to the
	// end of the field.
	FieldRelLoc
	// FieldBytes is any other layout, copied as raw bytes.
	FieldBytes
)

// Field is one field of a tracefs event format.
type Field struct {
	Name     string
	Type     string // C type as written, e.g. "pid_t", "char[16]", "__data_loc char[]"
	Offset   int
	Size     int
	Signed   bool
	Kind     FieldKind
	ElemSize int  // FieldArray, FieldDataLoc: size of one element
	ArrayLen int  // FieldArray: element count
	Chars    bool // FieldDataLoc/FieldRelLoc of char: a string
	Common   bool // common_type, common_flags, common_preempt_count, common_pid
}

// Format is a parsed events/SYSTEM/NAME/format file.
type Format struct {
	System string
	Name   string
	ID     uint16
	Fields []Field // common fields first, as in the file
}

// Field returns the field called name, or nil.
func (f *Format) Field(name string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	return nil
}

// Payload returns the fields after the common ones.
func (f *Format) Payload() []Field {
	for i := range f.Fields {
		if !f.Fields[i].Common {
			return f.Fields[i:]
		}
	}
	return nil
}

// FormatError is a malformed format or header file.
type FormatError struct {
	Line int
	Msg  string
}

func (e *FormatError) Error() string { return fmt.Sprintf("format line %d: %s", e.Line, e.Msg) }

// maxFields bounds the field count of one format (the largest kernel
// formats have a few dozen).
const maxFields = 512

// ParseFormat parses a tracefs event format file. system is the event's
// subsystem (the file itself does not say it).
func ParseFormat(system string, b []byte) (*Format, error) {
	f := &Format{System: system}
	haveID := false
	for n, line := range bytes.Split(b, []byte("\n")) {
		ln := n + 1
		s := strings.TrimSpace(string(line))
		switch {
		case strings.HasPrefix(s, "name:"):
			f.Name = strings.TrimSpace(s[5:])
		case strings.HasPrefix(s, "ID:"):
			id, err := strconv.ParseUint(strings.TrimSpace(s[3:]), 10, 16)
			if err != nil {
				return nil, &FormatError{ln, fmt.Sprintf("bad ID %q", s[3:])}
			}
			f.ID, haveID = uint16(id), true
		case strings.HasPrefix(s, "field:"):
			if len(f.Fields) >= maxFields {
				return nil, &FormatError{ln, "too many fields"}
			}
			fd, err := parseField(s)
			if err != nil {
				return nil, &FormatError{ln, err.Error()}
			}
			f.Fields = append(f.Fields, fd)
		case strings.HasPrefix(s, "print fmt:"):
			// The print format is for text output; records are decoded from fields.
			return f.check(haveID)
		}
	}
	return f.check(haveID)
}

func (f *Format) check(haveID bool) (*Format, error) {
	if f.Name == "" {
		return nil, &FormatError{0, "no name"}
	}
	if !haveID {
		return nil, &FormatError{0, fmt.Sprintf("event %q: no ID", f.Name)}
	}
	return f, nil
}

// parseField parses "field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;".
func parseField(s string) (Field, error) {
	var fd Field
	parts := strings.Split(s, ";")
	if len(parts) < 3 {
		return fd, fmt.Errorf("field %q: want declaration, offset and size", s)
	}
	decl := strings.TrimSpace(strings.TrimPrefix(parts[0], "field:"))
	haveOff, haveSize := false, false
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch k {
		case "offset":
			if err != nil || n < 0 || n > 1<<16 {
				return fd, fmt.Errorf("field %q: bad offset %q", decl, v)
			}
			fd.Offset, haveOff = n, true
		case "size":
			if err != nil || n < 0 || n > 1<<16 {
				return fd, fmt.Errorf("field %q: bad size %q", decl, v)
			}
			fd.Size, haveSize = n, true
		case "signed":
			fd.Signed = err == nil && n != 0
		}
	}
	if !haveOff || !haveSize {
		return fd, fmt.Errorf("field %q: missing offset or size", decl)
	}
	// The name is the last identifier of the declaration, before any [N].
	d := decl
	arr := ""
	if strings.HasSuffix(d, "]") {
		if i := strings.LastIndexByte(d, '['); i >= 0 {
			arr = d[i:]
			d = strings.TrimSpace(d[:i])
		}
	}
	i := strings.LastIndexAny(d, " *")
	if i < 0 || i == len(d)-1 {
		return fd, fmt.Errorf("field %q: no name", decl)
	}
	fd.Name = d[i+1:]
	ctype := strings.TrimSpace(d[:i+1])
	fd.Type = ctype + arr
	fd.Common = strings.HasPrefix(fd.Name, "common_")
	base := strings.TrimSpace(strings.TrimSuffix(ctype, "[]"))
	isChar := strings.HasSuffix(base, "char") && !strings.Contains(base, "*")
	switch {
	case strings.HasPrefix(ctype, "__data_loc"), strings.HasPrefix(ctype, "__rel_loc"):
		fd.Kind = FieldDataLoc
		if strings.HasPrefix(ctype, "__rel_loc") {
			fd.Kind = FieldRelLoc
		}
		if fd.Size != 4 {
			return fd, fmt.Errorf("field %q: dynamic location of size %d, want 4", decl, fd.Size)
		}
		fd.Chars = isChar
		fd.ElemSize = elemSize(ctype)
	case arr != "":
		inner := strings.TrimSuffix(strings.TrimPrefix(arr, "["), "]")
		n, err := strconv.Atoi(inner)
		if isChar && !strings.Contains(ctype, "*") {
			fd.Kind = FieldChars
			break
		}
		if err != nil || n <= 0 || fd.Size%n != 0 {
			fd.Kind = FieldBytes
			break
		}
		fd.Kind, fd.ArrayLen, fd.ElemSize = FieldArray, n, fd.Size/n
		switch fd.ElemSize {
		case 1, 2, 4, 8:
		default:
			fd.Kind = FieldBytes
		}
	default:
		switch fd.Size {
		case 1, 2, 4, 8:
			fd.Kind = FieldInt
		default:
			fd.Kind = FieldBytes
		}
	}
	return fd, nil
}

func elemSize(ctype string) int {
	switch {
	case strings.Contains(ctype, "*"), strings.Contains(ctype, "long"), strings.Contains(ctype, "64"):
		return 8
	case strings.Contains(ctype, "short"), strings.Contains(ctype, "16"):
		return 2
	case strings.Contains(ctype, "char"), strings.Contains(ctype, "8"), strings.Contains(ctype, "bool"):
		return 1
	}
	return 4
}

// Int reads an integer field from a record's data (the bytes after the
// ring-buffer event header, starting with common_type). It returns 0 when
// the record is too short; sign extension follows the field.
func (fd *Field) Int(rec []byte) uint64 {
	end := fd.Offset + fd.Size
	if fd.Offset < 0 || end > len(rec) {
		return 0
	}
	b := rec[fd.Offset:end]
	switch fd.Size {
	case 1:
		if fd.Signed {
			return uint64(int64(int8(b[0])))
		}
		return uint64(b[0])
	case 2:
		v := binary.LittleEndian.Uint16(b)
		if fd.Signed {
			return uint64(int64(int16(v)))
		}
		return uint64(v)
	case 4:
		v := binary.LittleEndian.Uint32(b)
		if fd.Signed {
			return uint64(int64(int32(v)))
		}
		return uint64(v)
	case 8:
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// Bytes returns the field's bytes in rec: the fixed bytes for fixed
// fields, the dynamic data for __data_loc/__rel_loc fields. It returns nil
// when the record is too short or the location points outside it.
func (fd *Field) Bytes(rec []byte) []byte {
	end := fd.Offset + fd.Size
	if fd.Offset < 0 || end > len(rec) {
		return nil
	}
	switch fd.Kind {
	case FieldDataLoc, FieldRelLoc:
		v := binary.LittleEndian.Uint32(rec[fd.Offset:])
		off, n := int(v&0xffff), int(v>>16)
		if fd.Kind == FieldRelLoc {
			off += end
		}
		if off+n > len(rec) {
			return nil
		}
		return rec[off : off+n]
	}
	return rec[fd.Offset:end]
}
