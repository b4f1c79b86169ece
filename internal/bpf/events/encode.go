package events

import (
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/record"
)

// faultText is written for a string argument the kernel could not read at
// entry (its page was not resident).
const faultText = "(fault)"

// ClassOf returns the class a system call record is written as: the named
// entry or exit class, or EntryUnknown/ExitUnknown. nil for other kinds.
func ClassOf(r *bpf.Record) *Class {
	s := Lookup(r.Syscall)
	switch r.Kind {
	case bpf.KindSysEntry:
		if s == nil {
			return &EntryUnknown
		}
		return &s.Entry
	case bpf.KindSysExit:
		if s == nil {
			return &ExitUnknown
		}
		return &s.Exit
	}
	return nil
}

// Append appends the payload of r laid out as c's fields. It does not
// allocate once p has grown to the largest payload.
func (c *Class) Append(p *writer.Payload, r *bpf.Record) {
	for _, o := range c.ops {
		switch {
		case o.str >= 0:
			switch {
			case r.Fault[o.str]:
				p.String(faultText)
			default:
				p.CString(r.Str[o.str])
			}
		case o.src >= 0:
			p.Int(r.Args[o.src], o.bits)
		case o.src == srcRet:
			p.Int(uint64(r.Ret), o.bits)
		case o.src == srcID:
			p.Int(uint64(r.Syscall), o.bits)
		case o.src == srcArgs:
			for _, a := range r.Args {
				p.U64(a)
			}
		}
	}
}

// Fork is lttng-modules 2.13's sched_process_fork, which the BPF fork
// record fills completely, the pid-namespace ids included.
var Fork = Class{Name: "sched_process_fork", Fields: record.ForkFields}
