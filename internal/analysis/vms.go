package analysis

import (
	"cmp"
	"slices"

	"github.com/tracetop/tracetop/internal/state"
	"github.com/tracetop/tracetop/internal/vm/vcpu"
)

// VMFigures is one virtual machine in the window, from host events alone:
// a VMM process (QEMU) with at least one thread named as a vCPU ("CPU
// 0/TCG", "CPU 1/KVM": vcpu.Parse). Without kvm_entry/kvm_exit (TCG)
// a vCPU's time on a CPU is all guest time.
type VMFigures struct {
	PID  state.PID
	Comm string // the process's comm (-name is not in kernel events)
	// CPUTime is the ns its threads ran (host CPU), GuestTime the part its
	// vCPU threads ran; the rest is VMM overhead (I/O threads, RCU...).
	CPUTime, GuestTime int64
	VCPUs              []VCPUFigures // by index
}

// VCPUFigures is one vCPU thread in the window.
type VCPUFigures struct {
	Index int
	TID   state.TID
	Accel string // "TCG" or "KVM"
	// OnCPU, Preempted and Blocked are the ns the thread ran, waited for a
	// host CPU (steal for the guest) and slept (idle vCPU).
	OnCPU, Preempted, Blocked int64
	CPU                       state.CPU // host CPU it last ran on
	Status                    state.Status
}

// Overhead is the VMM's CPU time outside its vCPU threads.
func (v *VMFigures) Overhead() int64 { return v.CPUTime - v.GuestTime }

// Preempted is the vCPUs' summed time waiting for a host CPU.
func (v *VMFigures) Preempted() int64 {
	var n int64
	for i := range v.VCPUs {
		n += v.VCPUs[i].Preempted
	}
	return n
}

// Steal is what the guest's /proc/stat would call steal: Σ vCPU preempted
// time / (window · vCPUs), in %.
func (f *Figures) Steal(v *VMFigures) float64 {
	if len(v.VCPUs) == 0 {
		return 0
	}
	return f.CoreShare(v.Preempted()) / float64(len(v.VCPUs))
}

// vmsOf groups the vCPU threads listed by process (threads and processes
// of one window), nil when there are none.
func vmsOf(threads []ThreadFigures, procs []ProcessFigures) []VMFigures {
	var vms []VMFigures
	for i := range threads {
		t := &threads[i]
		idx, accel, ok := vcpu.Parse(t.Comm)
		if !ok {
			continue
		}
		pid := t.PID
		if pid == 0 {
			pid = state.PID(t.TID)
		}
		j := slices.IndexFunc(vms, func(v VMFigures) bool { return v.PID == pid })
		if j < 0 {
			j = len(vms)
			vms = append(vms, VMFigures{PID: pid})
		}
		v := &vms[j]
		v.VCPUs = append(v.VCPUs, VCPUFigures{Index: idx, TID: t.TID, Accel: accel, OnCPU: t.CPUTime,
			Preempted: t.Runnable, Blocked: t.Blocked, CPU: t.CPU, Status: t.Status})
		v.GuestTime += t.CPUTime
	}
	if vms == nil {
		return nil
	}
	for i := range vms {
		v := &vms[i]
		if p := slices.IndexFunc(procs, func(p ProcessFigures) bool { return p.PID == v.PID }); p >= 0 {
			v.Comm, v.CPUTime = procs[p].Comm, procs[p].CPUTime
		}
		v.CPUTime = max(v.CPUTime, v.GuestTime)
		slices.SortFunc(v.VCPUs, func(a, b VCPUFigures) int {
			return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.TID, b.TID))
		})
	}
	slices.SortFunc(vms, func(a, b VMFigures) int {
		return cmp.Or(cmp.Compare(b.CPUTime, a.CPUTime), cmp.Compare(a.PID, b.PID))
	})
	return vms
}
