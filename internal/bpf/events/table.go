package events

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
)

//go:embed x86_64.txt
var x8664 string

// MaxNR is lttng-modules 2.13's last x86-64 system call; numbers above
// are recorded as syscall_entry_unknown / syscall_exit_unknown.
const MaxNR = 442

// Source values of an op besides argument indexes 0..5.
const (
	srcRet  = -1 // the return value
	srcID   = -2 // the system call number (unknown events)
	srcArgs = -3 // all six arguments as u64[6] (unknown events)
)

// op copies one record value into the payload.
type op struct {
	src  int8  // argument index, or srcRet/srcID/srcArgs
	bits uint8 // integer size
	str  int8  // string slot in the record, -1 for integers
}

// Class is the CTF event class of one system call's entry or exit, with
// the compiled plan that turns a record into its payload.
type Class struct {
	Name   string
	Fields []writer.Field
	ops    []op
}

// Syscall is one system call known by number.
type Syscall struct {
	NR    int
	Name  string // lttng's name: newstat, not stat
	Entry Class
	Exit  Class
	// Strings has bit i set when argument i is a user-space string, for
	// bpf.SyscallConf.Strings.
	Strings uint8
}

var (
	table [MaxNR + 1]*Syscall
	names = map[string]*Syscall{}

	// EntryUnknown and ExitUnknown are the classes of numbers without a
	// name, laid out as lttng-modules': id, (ret,) args[6].
	EntryUnknown = Class{Name: "syscall_entry_unknown",
		Fields: []writer.Field{writer.I32("id"), {Name: "args", Kind: writer.Array, Bits: 64, Len: 6}},
		ops:    []op{{src: srcID, bits: 32, str: -1}, {src: srcArgs, bits: 64, str: -1}}}
	ExitUnknown = Class{Name: "syscall_exit_unknown",
		Fields: []writer.Field{writer.I32("id"), writer.I64("ret"), {Name: "args", Kind: writer.Array, Bits: 64, Len: 6}},
		ops:    []op{{src: srcID, bits: 32, str: -1}, {src: srcRet, bits: 64, str: -1}, {src: srcArgs, bits: 64, str: -1}}}
)

// load fills table and names from the embedded table, at first use: a
// program that never records system calls (the batch mode) does not pay
// for the parse.
var load = sync.OnceFunc(func() {
	all, err := parseTable(x8664)
	if err != nil {
		panic("events: x86_64.txt: " + err.Error()) // the embedded table is fixed at build time
	}
	for _, s := range all {
		table[s.NR] = s
		names[s.Name] = s
	}
})

// Lookup returns the system call numbered nr, or nil when lttng-modules
// has no name for it.
func Lookup(nr int64) *Syscall {
	if nr < 0 || nr > MaxNR {
		return nil
	}
	load()
	return table[nr]
}

// ByName returns the system call named name ("openat", "newstat"), or nil.
func ByName(name string) *Syscall {
	load()
	return names[name]
}

// All returns the known system calls in number order.
func All() []*Syscall {
	load()
	var out []*Syscall
	for _, s := range table {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// parseTable reads the "NR NAME | ENTRY | EXIT" lines described at the
// top of x86_64.txt.
func parseTable(text string) ([]*Syscall, error) {
	var out []*Syscall
	for ln, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			return nil, fmt.Errorf("line %d: want 3 parts separated by |, got %d", ln+1, len(parts))
		}
		head := strings.Fields(parts[0])
		if len(head) != 2 {
			return nil, fmt.Errorf("line %d: want NR NAME", ln+1)
		}
		nr, err := strconv.Atoi(head[0])
		if err != nil || nr < 0 || nr > MaxNR {
			return nil, fmt.Errorf("line %d: bad number %q", ln+1, head[0])
		}
		s := &Syscall{NR: nr, Name: head[1]}
		s.Entry.Name = "syscall_entry_" + s.Name
		s.Exit.Name = "syscall_exit_" + s.Name
		nstr := int8(0)
		for _, f := range strings.Fields(parts[1]) {
			if err := addField(&s.Entry, f, false, &nstr, &s.Strings); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", ln+1, s.Entry.Name, err)
			}
		}
		for _, f := range strings.Fields(parts[2]) {
			if err := addField(&s.Exit, f, true, nil, nil); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", ln+1, s.Exit.Name, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func addField(c *Class, spec string, exit bool, nstr *int8, mask *uint8) error {
	name, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return fmt.Errorf("field %q: want NAME:TYPE[@ARG]", spec)
	}
	typ, argS, hasArg := strings.Cut(rest, "@")
	o := op{src: srcRet, str: -1}
	if hasArg {
		a, err := strconv.Atoi(argS)
		if err != nil || a < 0 || a > 5 {
			return fmt.Errorf("field %q: argument index %q not in 0..5", spec, argS)
		}
		o.src = int8(a)
	} else if !exit || name != "ret" {
		return fmt.Errorf("field %q: only the exit's ret has no argument index", spec)
	}
	f := writer.Field{Name: name}
	switch typ {
	case "str":
		if nstr == nil || !hasArg {
			return fmt.Errorf("field %q: strings are entry arguments only", spec)
		}
		if *nstr >= bpf.MaxStrings {
			return fmt.Errorf("field %q: more than %d strings", spec, bpf.MaxStrings)
		}
		f.Kind = writer.String
		o.str = *nstr
		*nstr++
		*mask |= 1 << o.src
	case "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "x32", "x64":
		bits, _ := strconv.Atoi(typ[1:])
		f.Bits = uint8(bits)
		f.Signed = typ[0] == 's'
		if typ[0] == 'x' {
			f.Base = 16
		}
		o.bits = uint8(bits)
	default:
		return fmt.Errorf("field %q: unknown type %q", spec, typ)
	}
	c.Fields = append(c.Fields, f)
	c.ops = append(c.ops, o)
	return nil
}
