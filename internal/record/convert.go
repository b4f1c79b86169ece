package record

import (
	"fmt"
	"strings"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
)

type opKind uint8

const (
	opInt       opKind = iota // integer field -> integer of bits
	opText                    // chars or data_loc chars -> fixed text of n
	opString                  // chars or data_loc chars -> string
	opZero                    // constant 0 of bits
	opEmpty                   // constant empty string
	opRWBS                    // rwbs text -> LTTng mask (u32)
	opCommonPid               // common_pid -> i32
	opArray                   // fixed array -> n ints of bits
	opSeq                     // data_loc array -> u32 length + ints of bits
	opRaw                     // odd layout -> n bytes
)

type op struct {
	kind opKind
	src  ftrace.Field
	bits uint8
	n    int
}

// conv turns the records of one tracefs event into CTF payloads. The plan
// is built once; encode walks it without allocating.
type conv struct {
	class   *writer.EventClass
	ops     []op
	fork    bool // sched_process_fork: hand-made (parent/child pids, vtids)
	newtask bool // task_newtask enabled only to learn clone flags
	hidden  bool // not written to the trace
	pid     ftrace.Field
	fmt     *ftrace.Format
}

var commonPid = ftrace.Field{Name: "common_pid", Offset: 4, Size: 4, Signed: true, Kind: ftrace.FieldInt}

// buildConv compiles the conversion of sel given its tracefs format.
func buildConv(sel selection, fm *ftrace.Format, stream uint32) (*conv, error) {
	c := &conv{fmt: fm, class: &writer.EventClass{Stream: stream, Name: sel.name}}
	if p := fm.Field("common_pid"); p != nil {
		c.pid = *p
	} else {
		c.pid = commonPid
	}
	switch {
	case sel.m != nil && sel.m.fields == nil: // sched_process_fork
		c.fork = true
		c.class.Fields = ForkFields
		for _, n := range []string{"parent_comm", "parent_pid", "child_comm", "child_pid"} {
			if fm.Field(n) == nil {
				return nil, fmt.Errorf("event %s: no field %q in its tracefs format", sel.tp, n)
			}
		}
	case sel.m != nil:
		for _, fmp := range sel.m.fields {
			c.class.Fields = append(c.class.Fields, fmp.dst)
			c.ops = append(c.ops, mappedOp(fmp, fm))
		}
	case sel.sys != 0:
		syscallConv(c, sel, fm)
	default:
		genericConv(c, fm)
	}
	return c, nil
}

func mappedOp(fmp fieldMap, fm *ftrace.Format) op {
	d := fmp.dst
	switch fmp.src {
	case "@common_pid":
		return op{kind: opCommonPid}
	case "@rwbs":
		if s := fm.Field("rwbs"); s != nil {
			return op{kind: opRWBS, src: *s}
		}
		return op{kind: opZero, bits: 32}
	}
	s := fm.Field(fmp.src)
	if s == nil {
		// The kernel dropped or renamed the field: keep LTTng's layout.
		if d.Kind == writer.String {
			return op{kind: opEmpty}
		}
		if d.Kind == writer.Text {
			return op{kind: opText, n: d.Len, src: ftrace.Field{Offset: -1}}
		}
		return op{kind: opZero, bits: d.Bits}
	}
	switch d.Kind {
	case writer.Text:
		return op{kind: opText, src: *s, n: d.Len}
	case writer.String:
		return op{kind: opString, src: *s}
	}
	return op{kind: opInt, src: *s, bits: d.Bits}
}

// genericConv keeps the tracefs names and fields of a tracepoint LTTng
// does not instrument.
func genericConv(c *conv, fm *ftrace.Format) {
	for _, s := range fm.Payload() {
		name := s.Name
		switch s.Kind {
		case ftrace.FieldInt:
			c.class.Fields = append(c.class.Fields, writer.Field{Name: name, Bits: uint8(s.Size * 8), Signed: s.Signed, Base: baseOf(s.Type)})
			c.ops = append(c.ops, op{kind: opInt, src: s, bits: uint8(s.Size * 8)})
		case ftrace.FieldChars:
			c.class.Fields = append(c.class.Fields, writer.Field{Name: name, Kind: writer.Text, Bits: 8, Len: s.Size})
			c.ops = append(c.ops, op{kind: opText, src: s, n: s.Size})
		case ftrace.FieldDataLoc, ftrace.FieldRelLoc:
			if s.Chars {
				c.class.Fields = append(c.class.Fields, writer.Str(name))
				c.ops = append(c.ops, op{kind: opString, src: s})
			} else {
				es := s.ElemSize
				c.class.Fields = append(c.class.Fields, writer.Field{Name: name, Kind: writer.Sequence, Bits: uint8(es * 8), LenBits: 32, Signed: s.Signed})
				c.ops = append(c.ops, op{kind: opSeq, src: s, bits: uint8(es * 8)})
			}
		case ftrace.FieldArray:
			c.class.Fields = append(c.class.Fields, writer.Field{Name: name, Kind: writer.Array, Bits: uint8(s.ElemSize * 8), Signed: s.Signed, Len: s.ArrayLen})
			c.ops = append(c.ops, op{kind: opArray, src: s, bits: uint8(s.ElemSize * 8), n: s.ArrayLen})
		default:
			c.class.Fields = append(c.class.Fields, writer.Field{Name: name, Kind: writer.Array, Bits: 8, Len: s.Size})
			c.ops = append(c.ops, op{kind: opRaw, src: s, n: s.Size})
		}
	}
}

func baseOf(ctype string) uint8 {
	if strings.Contains(ctype, "*") {
		return 16
	}
	return 10
}

// userStringArgs are syscall arguments LTTng records as strings; tracefs
// syscall events only have their user-space address, so the fallback
// writes them empty.
var userStringArgs = map[string]bool{
	"filename": true, "pathname": true, "oldname": true, "newname": true, "path": true,
	"name": false, "specialfile": true, "library": true, "dev_name": true, "dir_name": true, "old": false,
}

// syscallConv lays out syscall_entry_NAME with the argument types of the
// kernel prototype (tracefs stores every argument as 8 bytes) and
// syscall_exit_NAME with ret.
func syscallConv(c *conv, sel selection, fm *ftrace.Format) {
	for _, s := range fm.Payload() {
		if s.Name == "__syscall_nr" {
			continue
		}
		if sel.sys == 2 && s.Name == "ret" {
			c.class.Fields = append(c.class.Fields, writer.I64("ret"))
			c.ops = append(c.ops, op{kind: opInt, src: s, bits: 64})
			continue
		}
		t := strings.TrimSpace(s.Type)
		if strings.Contains(t, "char *") && !strings.Contains(t, "* const *") && !strings.Contains(t, "*const *") && userStringArgs[s.Name] {
			c.class.Fields = append(c.class.Fields, writer.Str(s.Name))
			c.ops = append(c.ops, op{kind: opEmpty})
			continue
		}
		bits, signed, base := cType(t)
		c.class.Fields = append(c.class.Fields, writer.Field{Name: s.Name, Bits: bits, Signed: signed, Base: base})
		c.ops = append(c.ops, op{kind: opInt, src: s, bits: bits})
	}
}

// cType guesses the size, sign and print base of a C argument type.
func cType(t string) (bits uint8, signed bool, base uint8) {
	t = strings.TrimPrefix(strings.TrimPrefix(t, "const "), "struct ")
	switch {
	case strings.Contains(t, "*"):
		return 64, false, 16
	case t == "int" || t == "pid_t" || t == "key_serial_t" || t == "clockid_t" || t == "timer_t" || t == "mqd_t" || t == "rwf_t" || t == "s32":
		return 32, true, 10
	case t == "unsigned int" || t == "unsigned" || t == "uid_t" || t == "gid_t" || t == "qid_t" || t == "u32" || t == "__u32" || t == "key_t":
		return 32, false, 10
	case t == "umode_t" || t == "unsigned short" || t == "u16" || t == "old_uid_t" || t == "old_gid_t":
		return 16, false, 10
	case t == "long" || t == "loff_t" || t == "off_t" || t == "ssize_t" || t == "time_t" || t == "__s64" || t == "s64":
		return 64, true, 10
	case t == "char" || t == "u8":
		return 8, false, 10
	}
	return 64, false, 10
}

// encode writes the payload of one record (data starts at common_type).
func (c *conv) encode(p *writer.Payload, data []byte) {
	for i := range c.ops {
		o := &c.ops[i]
		switch o.kind {
		case opInt:
			p.Int(o.src.Int(data), o.bits)
		case opZero:
			p.Int(0, o.bits)
		case opText:
			if o.src.Offset < 0 {
				p.Text(nil, o.n)
			} else {
				p.Text(o.src.Bytes(data), o.n)
			}
		case opString:
			p.CString(o.src.Bytes(data))
		case opEmpty:
			p.String("")
		case opRWBS:
			p.U32(rwbsMask(o.src.Bytes(data)))
		case opCommonPid:
			p.I32(int32(c.pid.Int(data)))
		case opArray:
			b := o.src.Bytes(data)
			es := int(o.bits / 8)
			for j := 0; j < o.n; j++ {
				sub := ftrace.Field{Offset: j * es, Size: es, Signed: o.src.Signed}
				p.Int(sub.Int(b), o.bits)
			}
		case opSeq:
			b := o.src.Bytes(data)
			es := int(o.bits / 8)
			n := len(b) / es
			p.U32(uint32(n))
			for j := 0; j < n; j++ {
				sub := ftrace.Field{Offset: j * es, Size: es, Signed: o.src.Signed}
				p.Int(sub.Int(b), o.bits)
			}
		case opRaw:
			b := o.src.Bytes(data)
			for j := 0; j < o.n; j++ {
				if j < len(b) {
					p.U8(b[j])
				} else {
					p.U8(0)
				}
			}
		}
	}
}
