package analysis

import (
	"encoding/json"
	"io"
	"strconv"
)

// AppendJSON appends f as JSON to b: the same bytes as encoding/json's
// Marshal of f (field names, order and omitempty of the struct tags, nil
// slices as null, HTML-safe string escaping), written directly: a whole
// trace's figures (thousands of threads) encode ten times faster than
// through reflection.
func (f *Figures) AppendJSON(b []byte) []byte {
	return f.appendJSON(b, nil)
}

// jsonChunk is the size of the pieces WriteJSON writes.
const jsonChunk = 64 << 10

// WriteJSON writes f as JSON followed by a newline to w (what a
// json.Encoder writes), in pieces of about 64 KiB: the figures of a whole
// trace are megabytes, which need not be held at once.
func (f *Figures) WriteJSON(w io.Writer) error {
	var err error
	buf := make([]byte, 0, jsonChunk+jsonChunk/4)
	b := f.appendJSON(buf, func(b []byte) []byte {
		if err == nil {
			_, err = w.Write(b)
		}
		return b[:0]
	})
	b = append(b, '\n')
	if err == nil {
		_, err = w.Write(b)
	}
	return err
}

// appendJSON appends f to b; flush, when not nil, is given b whenever it
// holds more than jsonChunk bytes and returns what to append to next.
func (f *Figures) appendJSON(b []byte, flush func([]byte) []byte) []byte {
	b = append(b, `{"Begin":`...)
	b = strconv.AppendInt(b, f.Begin, 10)
	b = append(b, `,"End":`...)
	b = strconv.AppendInt(b, f.End, 10)
	b = append(b, `,"NumCPU":`...)
	b = strconv.AppendInt(b, int64(f.NumCPU), 10)
	b = append(b, `,"OnlineCPUs":`...)
	b = strconv.AppendInt(b, int64(f.OnlineCPUs), 10)
	if f.Clipped {
		b = append(b, `,"Clipped":true`...)
	}
	b = append(b, `,"CPUs":`...)
	if f.CPUs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.CPUs {
			if i > 0 {
				b = append(b, ',')
			}
			c := &f.CPUs[i]
			b = append(b, `{"CPU":`...)
			b = strconv.AppendInt(b, int64(c.CPU), 10)
			b = append(b, `,"Busy":`...)
			b = strconv.AppendInt(b, c.Busy, 10)
			b = append(b, `,"Idle":`...)
			b = strconv.AppendInt(b, c.Idle, 10)
			b = append(b, `,"Switches":`...)
			b = strconv.AppendUint(b, c.Switches, 10)
			b = append(b, `,"Online":`...)
			b = strconv.AppendBool(b, c.Online)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Threads":`...)
	if f.Threads == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Threads {
			if i > 0 {
				b = append(b, ',')
			}
			b = f.Threads[i].appendJSON(b)
			if flush != nil && len(b) > jsonChunk {
				b = flush(b)
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"Processes":`...)
	if f.Processes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Processes {
			if i > 0 {
				b = append(b, ',')
			}
			b = f.Processes[i].appendJSON(b, flush)
			if flush != nil && len(b) > jsonChunk {
				b = flush(b)
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"Containers":`...)
	if f.Containers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Containers {
			if i > 0 {
				b = append(b, ',')
			}
			c := &f.Containers[i]
			b = append(b, `{"Inode":`...)
			b = strconv.AppendUint(b, c.Inode, 10)
			b = append(b, `,"Parent":`...)
			b = strconv.AppendUint(b, c.Parent, 10)
			b = append(b, `,"Level":`...)
			b = strconv.AppendInt(b, int64(c.Level), 10)
			b = append(b, `,"Init":`...)
			b = strconv.AppendInt(b, int64(c.Init), 10)
			b = append(b, `,"CPUTime":`...)
			b = strconv.AppendInt(b, c.CPUTime, 10)
			b = append(b, `,"TotalCPUTime":`...)
			b = strconv.AppendInt(b, c.TotalCPUTime, 10)
			b = append(b, `,"Processes":`...)
			b = strconv.AppendInt(b, int64(c.Processes), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Disks":`...)
	if f.Disks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range f.Disks {
			if i > 0 {
				b = append(b, ',')
			}
			d := &f.Disks[i]
			b = append(b, `{"Dev":`...)
			b = strconv.AppendUint(b, uint64(d.Dev), 10)
			b = append(b, `,"Read":`...)
			b = strconv.AppendUint(b, d.Read, 10)
			b = append(b, `,"Writes":`...)
			b = strconv.AppendUint(b, d.Writes, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"PerfNames":`...)
	if f.PerfNames == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, n := range f.PerfNames {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, `,"Running":`...)
	b = strconv.AppendInt(b, int64(f.Running), 10)
	b = append(b, `,"Born":`...)
	b = strconv.AppendInt(b, int64(f.Born), 10)
	b = append(b, `,"Died":`...)
	b = strconv.AppendInt(b, int64(f.Died), 10)
	b = append(b, `,"Opened":`...)
	b = strconv.AppendInt(b, int64(f.Opened), 10)
	b = append(b, `,"Closed":`...)
	b = strconv.AppendInt(b, int64(f.Closed), 10)
	b = append(b, `,"FDs":`...)
	b = strconv.AppendInt(b, int64(f.FDs), 10)
	b = append(b, `,"Read":`...)
	b = strconv.AppendUint(b, f.Read, 10)
	b = append(b, `,"Written":`...)
	b = strconv.AppendUint(b, f.Written, 10)
	b = append(b, `,"Lost":`...)
	b = strconv.AppendUint(b, f.Lost, 10)
	b = append(b, `,"LostPackets":`...)
	b = strconv.AppendUint(b, f.LostPackets, 10)
	b = append(b, `,"Events":`...)
	b = strconv.AppendUint(b, f.Events, 10)
	if len(f.Reaped) > 0 {
		b = append(b, `,"Reaped":[`...)
		for i, t := range f.Reaped {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(t), 10)
		}
		b = append(b, ']')
	}
	if len(f.VMs) > 0 {
		// A few VMs at most: encoding/json writes them.
		vms, err := json.Marshal(f.VMs)
		if err == nil {
			b = append(b, `,"VMs":`...)
			b = append(b, vms...)
		}
	}
	return append(b, '}')
}

func (t *ThreadFigures) appendJSON(b []byte) []byte {
	b = append(b, `{"TID":`...)
	b = strconv.AppendInt(b, int64(t.TID), 10)
	b = append(b, `,"PID":`...)
	b = strconv.AppendInt(b, int64(t.PID), 10)
	b = append(b, `,"PPID":`...)
	b = strconv.AppendInt(b, int64(t.PPID), 10)
	b = append(b, `,"VTID":`...)
	b = strconv.AppendInt(b, int64(t.VTID), 10)
	b = append(b, `,"VPID":`...)
	b = strconv.AppendInt(b, int64(t.VPID), 10)
	b = append(b, `,"Comm":`...)
	b = appendJSONString(b, t.Comm)
	b = append(b, `,"Container":`...)
	b = strconv.AppendUint(b, t.Container, 10)
	b = append(b, `,"CPUTime":`...)
	b = strconv.AppendInt(b, t.CPUTime, 10)
	b = append(b, `,"Switches":`...)
	b = strconv.AppendUint(b, t.Switches, 10)
	b = append(b, `,"Migrations":`...)
	b = strconv.AppendUint(b, t.Migrations, 10)
	b = append(b, `,"Status":`...)
	b = appendJSONString(b, t.Status.String())
	b = append(b, `,"Reason":`...)
	b = appendJSONString(b, t.Reason)
	b = append(b, `,"CPU":`...)
	b = strconv.AppendInt(b, int64(t.CPU), 10)
	b = append(b, `,"Prio":`...)
	b = strconv.AppendInt(b, int64(t.Prio), 10)
	b = append(b, `,"Born":`...)
	b = strconv.AppendBool(b, t.Born)
	b = append(b, `,"Died":`...)
	b = strconv.AppendBool(b, t.Died)
	b = append(b, `,"Read":`...)
	b = strconv.AppendUint(b, t.Read, 10)
	b = append(b, `,"Written":`...)
	b = strconv.AppendUint(b, t.Written, 10)
	b = append(b, `,"Perf":`...)
	b = appendUints(b, t.Perf)
	return append(b, '}')
}

func (p *ProcessFigures) appendJSON(b []byte, flush func([]byte) []byte) []byte {
	b = append(b, `{"PID":`...)
	b = strconv.AppendInt(b, int64(p.PID), 10)
	b = append(b, `,"PPID":`...)
	b = strconv.AppendInt(b, int64(p.PPID), 10)
	b = append(b, `,"VPID":`...)
	b = strconv.AppendInt(b, int64(p.VPID), 10)
	b = append(b, `,"Comm":`...)
	b = appendJSONString(b, p.Comm)
	b = append(b, `,"Path":`...)
	b = appendJSONString(b, p.Path)
	b = append(b, `,"Container":`...)
	b = strconv.AppendUint(b, p.Container, 10)
	b = append(b, `,"CPUTime":`...)
	b = strconv.AppendInt(b, p.CPUTime, 10)
	b = append(b, `,"Threads":`...)
	b = strconv.AppendInt(b, int64(p.Threads), 10)
	b = append(b, `,"Born":`...)
	b = strconv.AppendBool(b, p.Born)
	b = append(b, `,"Died":`...)
	b = strconv.AppendBool(b, p.Died)
	b = append(b, `,"Read":`...)
	b = strconv.AppendUint(b, p.Read, 10)
	b = append(b, `,"Written":`...)
	b = strconv.AppendUint(b, p.Written, 10)
	b = append(b, `,"BlockRead":`...)
	b = strconv.AppendUint(b, p.BlockRead, 10)
	b = append(b, `,"BlockWrite":`...)
	b = strconv.AppendUint(b, p.BlockWrite, 10)
	b = append(b, `,"Opened":`...)
	b = strconv.AppendInt(b, int64(p.Opened), 10)
	b = append(b, `,"Closed":`...)
	b = strconv.AppendInt(b, int64(p.Closed), 10)
	b = append(b, `,"Syscalls":`...)
	if p.Syscalls == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Syscalls {
			if i > 0 {
				b = append(b, ',')
			}
			s := &p.Syscalls[i]
			b = append(b, `{"Name":`...)
			b = appendJSONString(b, s.Name)
			b = append(b, `,"Count":`...)
			b = strconv.AppendUint(b, s.Count, 10)
			b = append(b, `,"Errors":`...)
			b = strconv.AppendUint(b, s.Errors, 10)
			b = append(b, `,"Total":`...)
			b = strconv.AppendInt(b, s.Total, 10)
			b = append(b, `,"Min":`...)
			b = strconv.AppendInt(b, s.Min, 10)
			b = append(b, `,"Max":`...)
			b = strconv.AppendInt(b, s.Max, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Files":`...)
	if p.Files == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Files {
			if i > 0 {
				b = append(b, ',')
			}
			if flush != nil && len(b) > jsonChunk {
				b = flush(b)
			}
			fl := &p.Files[i]
			b = append(b, `{"FD":`...)
			b = strconv.AppendInt(b, int64(fl.FD), 10)
			b = append(b, `,"Name":`...)
			b = appendJSONString(b, fl.Name)
			b = append(b, `,"Kind":`...)
			b = appendJSONString(b, fl.Kind.String())
			b = append(b, `,"Read":`...)
			b = strconv.AppendUint(b, fl.Read, 10)
			b = append(b, `,"Written":`...)
			b = strconv.AppendUint(b, fl.Written, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"SyscallsN":`...)
	b = strconv.AppendUint(b, p.SyscallsN, 10)
	b = append(b, `,"SyscallErrs":`...)
	b = strconv.AppendUint(b, p.SyscallErrs, 10)
	return append(b, '}')
}

func appendUints(b []byte, v []uint64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, x, 10)
	}
	return append(b, ']')
}

// appendJSONString appends s quoted as encoding/json does: printable
// ASCII other than the quote, the backslash and <, >, & (escaped for
// HTML) goes as is; anything else is left to encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil { // not for a string
				return append(b, `""`...)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
