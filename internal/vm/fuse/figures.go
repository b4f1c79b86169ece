package fuse

import (
	"io"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// VMThreads names the host threads of one VM: its vCPU threads (from the
// sync stream's discovery) and its process (QEMU), whose other threads
// (I/O, RCU) count as VMM overhead.
type VMThreads struct {
	Name  string
	PID   int         // VMM process; its threads are learnt from the statedump
	VCPUs map[int]int // tid → vCPU index
}

// VCPUFigures are the times of one vCPU thread over the window, from host
// scheduler events (TCG: no kvm_entry/kvm_exit, so GUEST and HYP are
// together in OnCPU).
type VCPUFigures struct {
	Index, TID int
	OnCPU      time.Duration // running on a host CPU
	Preempted  time.Duration // runnable but not running: steal for the guest
	Blocked    time.Duration // sleeping (idle vCPU)
}

// VMFigures are the per-VM figures of the design (host CPU %, steal %).
type VMFigures struct {
	Name   string
	Window time.Duration
	OnCPU  time.Duration // every thread of the VM
	// HostCPU is OnCPU / window, in % of one CPU.
	HostCPU float64
	// Steal is Σ vCPU preempted time / (window · vCPUs), in %: what the
	// guest's /proc/stat steal would say.
	Steal float64
	VCPUs []VCPUFigures
}

const (
	stUnknown = iota
	stOnCPU
	stPreempted
	stBlocked
)

type thread struct {
	vm, vcpu int // vcpu −1 for other VMM threads
	state    int
	since    int64
	on, pre  int64
	blk      int64
}

// Figures reads src (a fused or host-only source) and returns the figures
// of each VM over [from, to) (ns on the source's axis; to 0: the end).
// Thread states come from sched_switch (prev_state 0: preempted, else
// blocked) and sched_wakeup (blocked → preempted until switched in).
func Figures(src ctf.Source, vms []VMThreads, from, to int64) ([]VMFigures, error) {
	threads := map[int64]*thread{}
	byPID := map[int64]int{}
	for i, v := range vms {
		byPID[int64(v.PID)] = i
		for tid, idx := range v.VCPUs {
			threads[int64(tid)] = &thread{vm: i, vcpu: idx}
		}
	}
	type idx struct{ a, b, c int }
	cache := map[*meta.Event]idx{}
	field := func(ev *ctf.Event, i int) int64 {
		if v := ev.Field(meta.ScopeEventPayload, i); v != nil {
			return v.Int()
		}
		return -1
	}
	var last int64
	clip := func(t int64) int64 { return max(from, min(t, last)) }
	set := func(th *thread, state int, t int64) {
		if th.state != stUnknown && t > from {
			d := clip(t) - clip(th.since)
			switch th.state {
			case stOnCPU:
				th.on += d
			case stPreempted:
				th.pre += d
			case stBlocked:
				th.blk += d
			}
		}
		th.state, th.since = state, t
	}
	first := int64(-1)
	var ev ctf.Event
	for {
		err := src.Read(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if ev.Kind != ctf.KindEvent || ev.Class.Payload == nil {
			continue
		}
		if guest, ok := src.(*Source); ok {
			if g, _ := guest.LastBound(); g != "" {
				continue // host events only
			}
		}
		if to != 0 && ev.NS >= to {
			break
		}
		if first < 0 {
			first = ev.NS
		}
		last = ev.NS
		ix, ok := cache[ev.Class]
		if !ok {
			p := ev.Class.Payload
			switch ev.Class.Name {
			case "sched_switch":
				ix = idx{fieldIndex(p, "prev_tid"), fieldIndex(p, "prev_state"), fieldIndex(p, "next_tid")}
			case "sched_wakeup", "sched_wakeup_new":
				ix = idx{fieldIndex(p, "tid"), -1, -1}
			case "lttng_statedump_process_state":
				ix = idx{fieldIndex(p, "tid"), fieldIndex(p, "pid"), -1}
			default:
				ix = idx{-1, -1, -1}
			}
			cache[ev.Class] = ix
		}
		if ix.a < 0 {
			continue
		}
		switch ev.Class.Name {
		case "sched_switch":
			if th := threads[field(&ev, ix.a)]; th != nil {
				st := stBlocked
				if field(&ev, ix.b) == 0 {
					st = stPreempted
				}
				set(th, st, ev.NS)
			}
			if th := threads[field(&ev, ix.c)]; th != nil {
				set(th, stOnCPU, ev.NS)
			}
		case "sched_wakeup", "sched_wakeup_new":
			if th := threads[field(&ev, ix.a)]; th != nil && th.state != stOnCPU {
				set(th, stPreempted, ev.NS)
			}
		case "lttng_statedump_process_state":
			if i, ok := byPID[field(&ev, ix.b)]; ok {
				if tid := field(&ev, ix.a); threads[tid] == nil {
					threads[tid] = &thread{vm: i, vcpu: -1}
				}
			}
		}
	}
	if to == 0 {
		to = last
	}
	if first > from {
		from = first
	}
	for _, th := range threads {
		set(th, th.state, to)
	}
	window := to - from
	out := make([]VMFigures, len(vms))
	for i, v := range vms {
		out[i] = VMFigures{Name: v.Name, Window: time.Duration(window)}
	}
	for tid, th := range threads {
		f := &out[th.vm]
		f.OnCPU += time.Duration(th.on)
		if th.vcpu >= 0 {
			f.VCPUs = append(f.VCPUs, VCPUFigures{Index: th.vcpu, TID: int(tid), OnCPU: time.Duration(th.on),
				Preempted: time.Duration(th.pre), Blocked: time.Duration(th.blk)})
		}
	}
	for i := range out {
		f := &out[i]
		if window > 0 {
			f.HostCPU = 100 * float64(f.OnCPU) / float64(window)
			var pre time.Duration
			for _, c := range f.VCPUs {
				pre += c.Preempted
			}
			if n := len(f.VCPUs); n > 0 {
				f.Steal = 100 * float64(pre) / float64(window) / float64(n)
			}
		}
		sortVCPUs(f.VCPUs)
	}
	return out, nil
}

// fieldIndex finds a payload member by name, with or without the leading
// underscore TSDL field names of LTTng traces have.
func fieldIndex(c *meta.Class, name string) int {
	if i := c.FieldIndex(name); i >= 0 {
		return i
	}
	return c.FieldIndex("_" + name)
}

func sortVCPUs(v []VCPUFigures) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Index < v[j-1].Index; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
