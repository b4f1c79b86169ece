package record

import (
	"fmt"
	"path"
	"strings"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
)

// fieldMap says where one LTTng field comes from in a tracefs record.
// src is a tracefs field name, "" for a constant 0, or a special source:
// "@rwbs" (the rwbs text as LTTng's bit mask), "@common_pid" (the
// thread that hit the tracepoint).
type fieldMap struct {
	dst writer.Field
	src string
}

// lttngEvent is one tracepoint lttng-modules 2.13 instruments, with its
// LTTng name and field layout and the tracefs event it comes from.
type lttngEvent struct {
	name   string
	tp     ftrace.EventName
	fields []fieldMap
}

func f(dst writer.Field, src string) fieldMap { return fieldMap{dst, src} }

func same(dst writer.Field) fieldMap { return fieldMap{dst, dst.Name} }

var (
	commTidPrio = []fieldMap{same(writer.Comm("comm")), f(writer.I32("tid"), "pid"), same(writer.I32("prio"))}
	blockRq     = []fieldMap{same(writer.U32("dev")), same(writer.U64("sector")), same(writer.U32("nr_sector")),
		same(writer.U32("bytes")), f(writer.I32("tid"), "@common_pid"), f(writer.U32("rwbs"), "@rwbs"), same(writer.Comm("comm"))}
)

func tp(sys, name string) ftrace.EventName { return ftrace.EventName{System: sys, Name: name} }

// lttngEvents lists the tracepoints written with lttng-modules 2.13 names
// and layouts. sched_process_fork is converted by hand (convertFork).
var lttngEvents = []lttngEvent{
	{"sched_switch", tp("sched", "sched_switch"), []fieldMap{
		same(writer.Comm("prev_comm")), f(writer.I32("prev_tid"), "prev_pid"), same(writer.I32("prev_prio")),
		same(writer.I64("prev_state")), same(writer.Comm("next_comm")), f(writer.I32("next_tid"), "next_pid"),
		same(writer.I32("next_prio"))}},
	{"sched_wakeup", tp("sched", "sched_wakeup"), append(commTidPrio[:3:3], same(writer.I32("target_cpu")))},
	{"sched_waking", tp("sched", "sched_waking"), append(commTidPrio[:3:3], same(writer.I32("target_cpu")))},
	{"sched_wakeup_new", tp("sched", "sched_wakeup_new"), append(commTidPrio[:3:3], same(writer.I32("target_cpu")))},
	{"sched_migrate_task", tp("sched", "sched_migrate_task"), append(commTidPrio[:3:3],
		same(writer.I32("orig_cpu")), same(writer.I32("dest_cpu")))},
	{"sched_process_free", tp("sched", "sched_process_free"), commTidPrio},
	{"sched_process_exit", tp("sched", "sched_process_exit"), commTidPrio},
	{"sched_process_wait", tp("sched", "sched_process_wait"), commTidPrio},
	{"sched_wait_task", tp("sched", "sched_wait_task"), commTidPrio},
	{"sched_process_exec", tp("sched", "sched_process_exec"), []fieldMap{
		same(writer.Str("filename")), f(writer.I32("tid"), "pid"), f(writer.I32("old_tid"), "old_pid")}},
	{"sched_process_fork", tp("sched", "sched_process_fork"), nil},
	{"sched_pi_setprio", tp("sched", "sched_pi_setprio"), []fieldMap{
		same(writer.Comm("comm")), f(writer.I32("tid"), "pid"), same(writer.I32("oldprio")), same(writer.I32("newprio"))}},
	{"sched_stat_runtime", tp("sched", "sched_stat_runtime"), []fieldMap{
		same(writer.Comm("comm")), f(writer.I32("tid"), "pid"), same(writer.U64("runtime")), same(writer.U64("vruntime"))}},
	{"irq_handler_entry", tp("irq", "irq_handler_entry"), []fieldMap{same(writer.I32("irq")), same(writer.Str("name"))}},
	{"irq_handler_exit", tp("irq", "irq_handler_exit"), []fieldMap{same(writer.I32("irq")), same(writer.I32("ret"))}},
	{"irq_softirq_entry", tp("irq", "softirq_entry"), []fieldMap{same(writer.U32("vec"))}},
	{"irq_softirq_exit", tp("irq", "softirq_exit"), []fieldMap{same(writer.U32("vec"))}},
	{"irq_softirq_raise", tp("irq", "softirq_raise"), []fieldMap{same(writer.U32("vec"))}},
	{"timer_init", tp("timer", "timer_init"), []fieldMap{same(writer.Hex64("timer"))}},
	{"timer_start", tp("timer", "timer_start"), []fieldMap{same(writer.Hex64("timer")), same(writer.Hex64("function")),
		same(writer.I64("expires")), same(writer.I64("now")), same(writer.U32("flags"))}},
	{"timer_expire_entry", tp("timer", "timer_expire_entry"), []fieldMap{same(writer.Hex64("timer")),
		same(writer.I64("now")), same(writer.Hex64("function"))}},
	{"timer_expire_exit", tp("timer", "timer_expire_exit"), []fieldMap{same(writer.Hex64("timer"))}},
	{"timer_cancel", tp("timer", "timer_cancel"), []fieldMap{same(writer.Hex64("timer"))}},
	{"timer_hrtimer_init", tp("timer", "hrtimer_init"), []fieldMap{same(writer.Hex64("hrtimer")),
		same(writer.I32("clockid")), same(writer.U32("mode"))}},
	{"timer_hrtimer_start", tp("timer", "hrtimer_start"), []fieldMap{same(writer.Hex64("hrtimer")),
		same(writer.Hex64("function")), same(writer.I64("expires")), same(writer.I64("softexpires")), same(writer.U32("mode"))}},
	{"timer_hrtimer_expire_entry", tp("timer", "hrtimer_expire_entry"), []fieldMap{same(writer.Hex64("hrtimer")),
		same(writer.I64("now")), same(writer.Hex64("function"))}},
	{"timer_hrtimer_expire_exit", tp("timer", "hrtimer_expire_exit"), []fieldMap{same(writer.Hex64("hrtimer"))}},
	{"timer_hrtimer_cancel", tp("timer", "hrtimer_cancel"), []fieldMap{same(writer.Hex64("hrtimer"))}},
	{"block_rq_issue", tp("block", "block_rq_issue"), blockRq},
	{"block_rq_insert", tp("block", "block_rq_insert"), blockRq},
	{"block_rq_complete", tp("block", "block_rq_complete"), []fieldMap{same(writer.U32("dev")), same(writer.U64("sector")),
		same(writer.U32("nr_sector")), same(writer.I32("error")), f(writer.U32("rwbs"), "@rwbs")}},
	{"block_rq_requeue", tp("block", "block_rq_requeue"), []fieldMap{same(writer.U32("dev")), same(writer.U64("sector")),
		same(writer.U32("nr_sector")), f(writer.U32("rwbs"), "@rwbs")}},
	{"power_cpu_idle", tp("power", "cpu_idle"), []fieldMap{same(writer.U32("state")), same(writer.U32("cpu_id"))}},
	{"power_cpu_frequency", tp("power", "cpu_frequency"), []fieldMap{same(writer.U32("state")), same(writer.U32("cpu_id"))}},
	{"kvm_x86_entry", tp("kvm", "kvm_entry"), []fieldMap{same(writer.U32("vcpu_id"))}},
	{"kvm_x86_exit", tp("kvm", "kvm_exit"), []fieldMap{same(writer.U32("exit_reason")), same(writer.U64("guest_rip")),
		same(writer.U32("isa")), same(writer.U64("info1")), same(writer.U64("info2"))}},
	{"kvm_x86_hypercall", tp("kvm", "kvm_hypercall"), []fieldMap{same(writer.U64("nr")), same(writer.U64("a0")),
		same(writer.U64("a1")), same(writer.U64("a2")), same(writer.U64("a3"))}},
	{"kvm_x86_pio", tp("kvm", "kvm_pio"), []fieldMap{same(writer.U32("rw")), same(writer.U32("port")),
		same(writer.U32("size")), same(writer.U32("count"))}},
	{"kvm_userspace_exit", tp("kvm", "kvm_userspace_exit"), []fieldMap{same(writer.U32("reason")), same(writer.I32("errno"))}},
}

// byTracepoint indexes lttngEvents by tracefs event.
var byTracepoint = func() map[ftrace.EventName]*lttngEvent {
	m := map[ftrace.EventName]*lttngEvent{}
	for i := range lttngEvents {
		m[lttngEvents[i].tp] = &lttngEvents[i]
	}
	return m
}()

// selection is one tracefs event to enable and the CTF name it gets.
type selection struct {
	tp   ftrace.EventName
	name string
	m    *lttngEvent // nil: generic conversion
	sys  int         // 0: tracepoint, 1: syscall entry, 2: syscall exit
}

// ctfName returns the name a tracefs event is recorded under.
func ctfName(e ftrace.EventName) (string, *lttngEvent) {
	if m := byTracepoint[e]; m != nil {
		return m.name, m
	}
	return e.Name, nil
}

// selectEvents resolves event and syscall patterns against the events
// tracefs offers. It fails on a pattern that matches nothing.
func selectEvents(avail []ftrace.EventName, events, syscalls []string, tracefsSyscalls bool) ([]selection, error) {
	var out []selection
	seen := map[ftrace.EventName]bool{}
	add := func(s selection) {
		if !seen[s.tp] {
			seen[s.tp] = true
			out = append(out, s)
		}
	}
	for _, pat := range events {
		pat = strings.TrimSpace(pat)
		if pat == "" {
			continue
		}
		n := 0
		sysPat, namePat, qualified := strings.Cut(strings.Replace(pat, "/", ":", 1), ":")
		for _, e := range avail {
			if e.System == "syscalls" || e.System == "ftrace" || e.System == "raw_syscalls" && pat == "*" {
				continue
			}
			name, m := ctfName(e)
			var ok bool
			if qualified {
				ok = match(sysPat, e.System) && match(namePat, e.Name)
			} else {
				ok = match(pat, name) || m == nil && match(pat, e.System+"_"+e.Name)
			}
			if ok {
				add(selection{tp: e, name: name, m: m})
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("event %q: no such kernel tracepoint in tracefs (see available_events)", pat)
		}
	}
	if len(syscalls) > 0 && tracefsSyscalls {
		for _, pat := range syscalls {
			n := 0
			for _, e := range avail {
				if e.System != "syscalls" {
					continue
				}
				if sc, ok := strings.CutPrefix(e.Name, "sys_enter_"); ok && match(pat, sc) {
					add(selection{tp: e, name: "syscall_entry_" + sc, sys: 1})
					n++
				} else if sc, ok := strings.CutPrefix(e.Name, "sys_exit_"); ok && match(pat, sc) {
					add(selection{tp: e, name: "syscall_exit_" + sc, sys: 2})
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("syscall %q: no such syscall event in tracefs", pat)
			}
		}
	}
	return out, nil
}

func match(pat, s string) bool {
	ok, err := path.Match(pat, s)
	return err == nil && ok
}

// rwbsMask turns the block layer's rwbs text ("WS", "RA", "FWFS"…) into
// LTTng's bit mask.
func rwbsMask(b []byte) uint32 {
	const (
		write   = 1 << 0
		discard = 1 << 1
		read    = 1 << 2
		rahead  = 1 << 3
		sync    = 1 << 5
		meta    = 1 << 6
		secure  = 1 << 7
		flush   = 1 << 8
		fua     = 1 << 9
		preflsh = 1 << 10
	)
	var m uint32
	for i, c := range b {
		switch c {
		case 0:
			return m
		case 'W':
			m |= write
		case 'D':
			m |= discard
		case 'R':
			m |= read
		case 'A':
			m |= rahead
		case 'S':
			if i == 0 {
				m |= secure
			} else {
				m |= sync
			}
		case 'M':
			m |= meta
		case 'F':
			if i == 0 {
				m |= preflsh
			} else {
				m |= fua
			}
		case 'E':
			m |= secure | discard
		}
	}
	return m
}
