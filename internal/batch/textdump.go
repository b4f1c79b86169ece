package batch

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/state"
)

// TextdumpOptions select the threads whose system calls Textdump prints.
type TextdumpOptions struct {
	// PIDs and Names select processes (none: every process); Children
	// adds their descendants, including those born later.
	PIDs     []int
	Names    []string
	Children bool
	// Begin and End bound the calls printed (ns from the clock origin; 0:
	// no bound). The model still reads from the start, so names and fds
	// are known.
	Begin, End int64
	// Location is the time zone of the times printed (default UTC).
	Location *time.Location
	// Follow, when set, is called after each line written (a live dump
	// flushes its output).
	Follow func() error
}

// FirstTime returns the time of the first event of the traces.
func FirstTime(sources []string) (int64, error) {
	src, err := ctf.Open(sources, ctf.Options{})
	if err != nil {
		return 0, err
	}
	defer src.Close()
	var ev ctf.Event
	if err := src.Read(&ev); err != nil && err != io.EOF {
		return 0, err
	}
	return ev.NS, nil
}

// pendingCall is a syscall entry waiting for its exit.
type pendingCall struct {
	name  string
	args  []byte
	entry int64
}

// Textdump prints the system calls of the selected threads of src as
// strace -f -tt -T does: one line per call at its return, with the time it
// was entered, the thread, the call with its arguments decoded from the
// entry event, the return value (errors by name) and the time spent
// inside:
//
//	15:54:06.661402113 [3876/3876 code] openat(dfd: AT_FDCWD, filename: "/etc/hosts", flags: O_RDONLY|O_CLOEXEC, mode: 0) = 3 <0.000012>
//
// Calls whose entry precedes the trace print "..." for their arguments.
func Textdump(w io.Writer, src ctf.Source, opt TextdumpOptions) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
		defer bw.Flush()
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	end := opt.End
	if end <= 0 {
		end = math.MaxInt64
	}
	m := state.New()
	sel := newSelection(opt)
	pending := map[state.TID]*pendingCall{}
	var line []byte
	var ev ctf.Event
	for {
		if err := src.Read(&ev); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if ev.NS >= end {
			return nil
		}
		if ev.Kind != ctf.KindEvent || ev.Stream == nil || ev.Stream.CPU < 0 {
			m.Apply(&ev)
			continue
		}
		name, exit := syscallOf(ev.Class.Name)
		if name == "" {
			m.Apply(&ev)
			if ev.Class.Name == "sched_process_exit" {
				// A call that never returns (exit_group, exit): as strace,
				// "= ?" and the exit.
				if th := m.Thread(exitTID(&ev)); th != nil && sel.keep(m, th) {
					if p := pending[th.TID]; p != nil && p.name != "" && p.entry >= opt.Begin {
						line = appendUnfinished(line[:0], th, p, loc)
						p.name = ""
						if _, err := bw.Write(line); err != nil {
							return err
						}
					}
				}
			}
			continue
		}
		th := m.OnCPU(state.CPU(ev.Stream.CPU))
		if th == nil || th.TID <= 0 || !sel.keep(m, th) {
			m.Apply(&ev)
			continue
		}
		if !exit {
			p := pending[th.TID]
			if p == nil {
				p = &pendingCall{}
				pending[th.TID] = p
			}
			p.name, p.entry = name, ev.NS
			p.args = appendFields(p.args[:0], &ev)
			m.Apply(&ev)
			continue
		}
		p := pending[th.TID]
		entry := ev.NS
		var args []byte
		if p != nil && p.name == name {
			entry, args = p.entry, p.args
			p.name = ""
		} else {
			args = []byte("...")
		}
		if entry >= opt.Begin {
			line = appendCall(line[:0], &ev, th, m, name, args, entry, loc)
			if _, err := bw.Write(line); err != nil {
				return err
			}
			if opt.Follow != nil {
				if err := bw.Flush(); err != nil {
					return err
				}
				if err := opt.Follow(); err != nil {
					return err
				}
			}
		}
		m.Apply(&ev)
	}
}

// selection decides which threads are printed.
type selection struct {
	all      bool
	pids     map[state.PID]bool
	names    map[string]bool
	children bool
}

func newSelection(opt TextdumpOptions) *selection {
	s := &selection{pids: map[state.PID]bool{}, names: map[string]bool{}, children: opt.Children}
	for _, p := range opt.PIDs {
		s.pids[state.PID(p)] = true
	}
	for _, n := range opt.Names {
		s.names[n] = true
	}
	s.all = len(s.pids) == 0 && len(s.names) == 0
	return s
}

func (s *selection) keep(m *state.Machine, t *state.Thread) bool {
	if s.all {
		return true
	}
	pid := t.PID
	if pid == 0 {
		pid = state.PID(t.TID)
	}
	if s.names[t.Comm] {
		return true
	}
	for range 64 {
		if s.pids[pid] {
			return true
		}
		p := m.Process(pid)
		if p != nil && s.names[p.Comm] {
			return true
		}
		if !s.children || p == nil || p.PPID <= 0 || p.PPID == pid {
			return false
		}
		pid = p.PPID
	}
	return false
}

// syscallOf returns the syscall of an entry or exit event name.
func syscallOf(name string) (sys string, exit bool) {
	for _, p := range [...]struct {
		prefix string
		exit   bool
	}{{"syscall_entry_", false}, {"syscall_exit_", true}, {"compat_syscall_entry_", false},
		{"compat_syscall_exit_", true}, {"sys_", false}} {
		if strings.HasPrefix(name, p.prefix) {
			return name[len(p.prefix):], p.exit
		}
	}
	if name == "exit_syscall" {
		return "?", true
	}
	return "", false
}

// exitTID is the tid of a sched_process_exit event.
func exitTID(ev *ctf.Event) state.TID {
	root := ev.Scope(meta.ScopeEventPayload)
	if root == nil {
		return -1
	}
	for i, f := range root.Class.Fields {
		if f.Name == "tid" || f.Name == "_tid" {
			return state.TID(ev.Child(root, i).Int())
		}
	}
	return -1
}

// appendUnfinished formats a call that never returned and the exit.
func appendUnfinished(b []byte, th *state.Thread, p *pendingCall, loc *time.Location) []byte {
	t := time.Unix(0, p.entry).In(loc)
	b = t.AppendFormat(b, "15:04:05")
	b = fmt.Appendf(b, ".%09d [%d/%d %s] %s(%s) = ?\n", t.Nanosecond(), pidOf(th), th.TID, th.Comm, p.name, p.args)
	return fmt.Appendf(b, "+++ %d/%d %s exited +++\n", pidOf(th), th.TID, th.Comm)
}

// appendCall formats one line.
func appendCall(b []byte, ev *ctf.Event, th *state.Thread, m *state.Machine, name string, args []byte,
	entry int64, loc *time.Location) []byte {
	t := time.Unix(0, entry).In(loc)
	b = t.AppendFormat(b, "15:04:05")
	b = fmt.Appendf(b, ".%09d [%d/%d %s] ", t.Nanosecond(), pidOf(th), th.TID, th.Comm)
	if name == "?" {
		name = th.Syscall.Name
	}
	b = append(b, name...)
	b = append(b, '(')
	b = append(b, args...)
	b = append(b, ") = "...)
	ret, haveRet := int64(0), false
	var extra []byte
	if root := ev.Scope(meta.ScopeEventPayload); root != nil {
		for i, f := range root.Class.Fields {
			v := ev.Child(root, i)
			if n := strings.TrimPrefix(f.Name, "_"); n == "ret" {
				ret, haveRet = v.Int(), true
				continue
			}
			if isLength(f.Name) {
				continue
			}
			if len(extra) > 0 {
				extra = append(extra, ", "...)
			}
			extra = append(extra, strings.TrimPrefix(f.Name, "_")...)
			extra = append(extra, ": "...)
			extra = appendValue(extra, ev, v, f.Name, name)
		}
	}
	switch {
	case !haveRet:
		b = append(b, '?')
	case ret < 0 && ret > -4096:
		e := unix.Errno(-ret)
		b = append(b, "-1 "...)
		if n := unix.ErrnoName(e); n != "" {
			b = append(b, n...)
		} else {
			b = strconv.AppendInt(b, -ret, 10)
		}
		b = append(b, " ("...)
		msg := e.Error()
		if msg != "" {
			b = append(b, strings.ToUpper(msg[:1])...)
			b = append(b, msg[1:]...)
		}
		b = append(b, ')')
	case ret >= 1<<32 || ret < 0:
		b = append(b, "0x"...)
		b = strconv.AppendUint(b, uint64(ret), 16)
	default:
		b = strconv.AppendInt(b, ret, 10)
	}
	if len(extra) > 0 {
		b = append(b, " {"...)
		b = append(b, extra...)
		b = append(b, '}')
	}
	b = fmt.Appendf(b, " <%d.%06d>\n", (ev.NS-entry)/1e9, (ev.NS-entry)%1e9/1e3)
	return b
}

func pidOf(t *state.Thread) state.PID {
	if t.PID != 0 {
		return t.PID
	}
	return state.PID(t.TID)
}

// appendFields formats the payload of an entry event as "name: value, ...".
func appendFields(b []byte, ev *ctf.Event) []byte {
	root := ev.Scope(meta.ScopeEventPayload)
	if root == nil {
		return b
	}
	name, _ := syscallOf(ev.Class.Name)
	first := true
	for i, f := range root.Class.Fields {
		if isLength(f.Name) {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		fn := strings.TrimPrefix(f.Name, "_")
		b = append(b, fn...)
		b = append(b, ": "...)
		b = appendValue(b, ev, ev.Child(root, i), fn, name)
	}
	return b
}

// isLength tells the length fields of sequences (_readfds_length), which
// the sequence itself shows.
func isLength(name string) bool {
	return strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_length")
}

// appendValue formats one value, naming the constants strace names.
func appendValue(b []byte, ev *ctf.Event, v *ctf.Value, field, call string) []byte {
	c := v.Class
	if c == nil {
		return append(b, '?')
	}
	switch c.Kind {
	case meta.KindInt, meta.KindEnum, meta.KindVarInt:
		if s := symbol(field, call, v); s != "" {
			return append(b, s...)
		}
		if c.Base == 16 {
			if v.Bits == 0 {
				return append(b, "NULL"...)
			}
			b = append(b, "0x"...)
			return strconv.AppendUint(b, v.Bits, 16)
		}
		if c.Signed {
			return strconv.AppendInt(b, v.Int(), 10)
		}
		return strconv.AppendUint(b, v.Bits, 10)
	case meta.KindFloat:
		return strconv.AppendFloat(b, v.Float(), 'g', -1, 64)
	case meta.KindString, meta.KindStaticText, meta.KindDynamicText:
		return appendQuoted(b, ev.Bytes(v))
	case meta.KindArray, meta.KindSequence:
		if c.IsText() {
			t := ev.Bytes(v)
			for i, x := range t {
				if x == 0 {
					t = t[:i]
					break
				}
			}
			return appendQuoted(b, t)
		}
		b = append(b, '[')
		for i := range int(v.N) {
			if i > 0 {
				b = append(b, ", "...)
			}
			if i == 16 {
				b = append(b, "..."...)
				break
			}
			b = appendValue(b, ev, ev.Child(v, i), "", call)
		}
		return append(b, ']')
	case meta.KindStruct:
		b = append(b, '{')
		for i, f := range c.Fields {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, strings.TrimPrefix(f.Name, "_")...)
			b = append(b, ": "...)
			b = appendValue(b, ev, ev.Child(v, i), f.Name, call)
		}
		return append(b, '}')
	}
	return append(b, '?')
}

// appendQuoted quotes a string as strace does, cut at 32 bytes.
func appendQuoted(b, s []byte) []byte {
	cut := len(s) > 32
	if cut {
		s = s[:32]
	}
	b = strconv.AppendQuote(b, string(s))
	if cut {
		b = append(b, "..."...)
	}
	return b
}

var openFlags = []struct {
	bit  uint64
	name string
}{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_DIRECT, "O_DIRECT"}, {unix.O_LARGEFILE, "O_LARGEFILE"},
	{unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
}

// symbol names the constants of a few arguments: AT_FDCWD, open flags.
func symbol(field, call string, v *ctf.Value) string {
	switch {
	case (field == "dfd" || field == "dirfd" || field == "olddfd" || field == "newdfd") && int32(v.Bits) == unix.AT_FDCWD:
		return "AT_FDCWD"
	case field == "flags" && (call == "open" || call == "openat" || call == "creat" || call == "openat2"):
		f := v.Bits
		var parts []string
		switch f & unix.O_ACCMODE {
		case unix.O_RDONLY:
			parts = append(parts, "O_RDONLY")
		case unix.O_WRONLY:
			parts = append(parts, "O_WRONLY")
		case unix.O_RDWR:
			parts = append(parts, "O_RDWR")
		default:
			parts = append(parts, "O_ACCMODE")
		}
		f &^= unix.O_ACCMODE
		for _, o := range openFlags {
			if f&o.bit == o.bit && o.bit != 0 {
				parts = append(parts, o.name)
				f &^= o.bit
			}
		}
		if f != 0 {
			parts = append(parts, "0x"+strconv.FormatUint(f, 16))
		}
		return strings.Join(parts, "|")
	}
	return ""
}
