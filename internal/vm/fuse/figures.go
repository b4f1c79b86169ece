package fuse

import (
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
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

// hostOnly passes a fused source's host events only.
type hostOnly struct {
	ctf.Source
	fused *Source
}

func (h hostOnly) Read(ev *ctf.Event) error {
	for {
		if err := h.Source.Read(ev); err != nil {
			return err
		}
		if g, _ := h.fused.LastBound(); g == "" {
			return nil
		}
	}
}

// Figures reads src (a fused or host-only source) and returns the figures
// of each VM over [from, to) (ns on the source's axis; to 0: the end).
// The times come from the analysis of the window (package analysis: the
// thread states of state.Machine — sched_switch with prev_state 0:
// preempted, else blocked; sched_wakeup: blocked → preempted until
// switched in), so they are the top's figures for the same threads.
func Figures(src ctf.Source, vms []VMThreads, from, to int64) ([]VMFigures, error) {
	if fused, ok := src.(*Source); ok {
		src = hostOnly{src, fused}
	}
	var f *analysis.Figures
	err := analysis.Intervals(src, analysis.Window{Begin: from, End: to}, func(x *analysis.Figures) error {
		f = x
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]VMFigures, len(vms))
	for i, v := range vms {
		out[i] = VMFigures{Name: v.Name}
	}
	if f == nil {
		return out, nil
	}
	window := f.Duration()
	for i, v := range vms {
		o := &out[i]
		o.Window = time.Duration(window)
		for j := range f.Threads {
			t := &f.Threads[j]
			idx, vcpu := v.VCPUs[int(t.TID)]
			if !vcpu && (v.PID == 0 || int(t.PID) != v.PID) {
				continue
			}
			o.OnCPU += time.Duration(t.CPUTime)
			if vcpu {
				o.VCPUs = append(o.VCPUs, VCPUFigures{Index: idx, TID: int(t.TID), OnCPU: time.Duration(t.CPUTime),
					Preempted: time.Duration(t.Runnable), Blocked: time.Duration(t.Blocked)})
			}
		}
		if window > 0 {
			o.HostCPU = 100 * float64(o.OnCPU) / float64(window)
			var pre time.Duration
			for _, c := range o.VCPUs {
				pre += c.Preempted
			}
			if n := len(o.VCPUs); n > 0 {
				o.Steal = 100 * float64(pre) / float64(window) / float64(n)
			}
		}
		sortVCPUs(o.VCPUs)
	}
	return out, nil
}

func sortVCPUs(v []VCPUFigures) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Index < v[j-1].Index; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
