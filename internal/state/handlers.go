package state

import (
	"bytes"
	"strings"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// Field slots of classInfo.f, per handler.
const (
	// sched_switch
	fPrevTID = iota
	fPrevState
	fPrevComm
	fNextTID
	fNextComm
	fNextPrio
)

const (
	// sched_process_fork
	fParentTID = iota
	fParentPID
	fChildTID
	fChildPID
	fChildComm
	fVTIDs
	fChildNS
	fParentNS
)

const (
	// generic single-thread events (wakeup, exit, free, exec, migrate)
	fTID = iota
	fComm
	fPrio
	fFilename // exec
	fOrigCPU  // migrate
	fDestCPU
	fTargetCPU
)

const (
	// lttng_statedump_process_state (both layouts) and _process_pid_ns
	fSDTID = iota
	fSDPID
	fSDPPID
	fSDVTID
	fSDVPID
	fSDVPPID
	fSDName
	fSDStatus
	fSDNSLevel
	fSDNSInum
	fSDCPU
	fSDFileTable
)

const (
	// lttng_statedump_file_descriptor
	fFDPID = iota
	fFDFD
	fFDFlags
	fFDName
	fFDTable
)

const (
	// syscall entry
	fSysFD = iota
	fSysArg
	fSysFlags
	fSysPath
	fSysFD2 // second fd: splice fd_out, sendfile out_fd, dup2 newfd
)

const (
	// syscall exit
	fRet = iota
	fFildes
)

const (
	// block_rq_issue / block_rq_complete
	fBlkDev = iota
	fBlkSector
	fBlkNrSector
	fBlkBytes
	fBlkRWBS
	fBlkTID
)

// fieldIndex finds a member by its name with or without one leading
// underscore (CTF 1.8 LTTng metadata writes `_prev_tid`, CTF 2 `prev_tid`).
func fieldIndex(c *meta.Class, names ...string) int {
	if c == nil || c.Kind != meta.KindStruct {
		return -1
	}
	for _, name := range names {
		if i := c.FieldIndex(name); i >= 0 {
			return i
		}
		if i := c.FieldIndex("_" + name); i >= 0 {
			return i
		}
		if strings.HasPrefix(name, "_") {
			if i := c.FieldIndex(name[1:]); i >= 0 {
				return i
			}
		}
	}
	return -1
}

// resolve decides what the model does with events of class e.
func resolve(e *meta.Event, s *ctf.Stream) *classInfo {
	ci := &classInfo{}
	for i := range ci.f {
		ci.f[i] = -1
	}
	ci.perf = resolvePerf(e, s)
	p := e.Payload
	set := func(slot int, names ...string) { ci.f[slot] = fieldIndex(p, names...) }
	name := e.Name
	// UST and other tracers name events "provider:event"; the kernel
	// model only reads kernel events.
	if strings.IndexByte(name, ':') >= 0 {
		return ci
	}
	switch name {
	case "sched_switch":
		ci.handler = (*Machine).onSwitch
		set(fPrevTID, "prev_tid")
		set(fPrevState, "prev_state")
		set(fPrevComm, "prev_comm")
		set(fNextTID, "next_tid")
		set(fNextComm, "next_comm")
		set(fNextPrio, "next_prio")
		if ci.f[fPrevTID] < 0 || ci.f[fNextTID] < 0 {
			ci.handler = nil
		}
	case "sched_process_fork":
		ci.handler = (*Machine).onFork
		set(fParentTID, "parent_tid")
		set(fParentPID, "parent_pid")
		set(fChildTID, "child_tid")
		set(fChildPID, "child_pid")
		set(fChildComm, "child_comm")
		set(fVTIDs, "vtids")
		set(fChildNS, "child_ns_inum")
		set(fParentNS, "parent_ns_inum")
		if ci.f[fChildTID] < 0 {
			ci.handler = nil
		}
	case "sched_wakeup", "sched_wakeup_new", "sched_waking":
		ci.handler = (*Machine).onWakeup
		set(fTID, "tid", "pid")
		set(fComm, "comm")
		set(fPrio, "prio")
		set(fTargetCPU, "target_cpu")
		if name == "sched_waking" {
			// sched_waking precedes sched_wakeup; one is enough.
			ci.handler = (*Machine).onWaking
		}
	case "sched_migrate_task":
		ci.handler = (*Machine).onMigrate
		set(fTID, "tid", "pid")
		set(fComm, "comm")
		set(fOrigCPU, "orig_cpu")
		set(fDestCPU, "dest_cpu")
	case "sched_process_exit":
		ci.handler = (*Machine).onExit
		set(fTID, "tid", "pid")
		set(fComm, "comm")
	case "sched_process_free":
		ci.handler = (*Machine).onFree
		set(fTID, "tid", "pid")
	case "sched_process_exec":
		ci.handler = (*Machine).onExec
		set(fTID, "tid", "pid")
		set(fFilename, "filename")
	case "lttng_statedump_process_state":
		ci.handler = (*Machine).onStatedumpProcess
		set(fSDTID, "tid")
		set(fSDPID, "pid")
		set(fSDPPID, "ppid")
		set(fSDVTID, "vtid")
		set(fSDVPID, "vpid")
		set(fSDVPPID, "vppid")
		set(fSDName, "name")
		set(fSDStatus, "status")
		set(fSDNSLevel, "ns_level")
		set(fSDNSInum, "ns_inum")
		set(fSDCPU, "cpu")
		set(fSDFileTable, "file_table_address")
	case "lttng_statedump_process_pid_ns":
		ci.handler = (*Machine).onStatedumpPidNS
		set(fSDTID, "tid")
		set(fSDVTID, "vtid")
		set(fSDVPID, "vpid")
		set(fSDVPPID, "vppid")
		set(fSDNSLevel, "ns_level")
		set(fSDNSInum, "ns_inum")
	case "lttng_statedump_file_descriptor":
		ci.handler = (*Machine).onStatedumpFD
		set(fFDPID, "pid")
		set(fFDFD, "fd")
		set(fFDFlags, "flags")
		set(fFDName, "filename")
		set(fFDTable, "file_table_address")
	case "block_rq_issue", "block_rq_insert", "block_rq_complete":
		set(fBlkDev, "dev")
		set(fBlkSector, "sector")
		set(fBlkNrSector, "nr_sector")
		set(fBlkBytes, "bytes")
		set(fBlkRWBS, "rwbs")
		set(fBlkTID, "tid")
		switch name {
		case "block_rq_issue":
			ci.handler = (*Machine).onBlockIssue
		case "block_rq_complete":
			ci.handler = (*Machine).onBlockComplete
		}
	case "exit_syscall":
		ci.handler = (*Machine).onSyscallExit
		set(fRet, "ret")
	case "lttng_statedump_cpu_topology":
		ci.handler = (*Machine).onCPUTopology
		set(fSDCPU, "cpu")
	default:
		sys, exit := syscallName(name)
		if sys == "" {
			return ci
		}
		ci.sysName = sys
		if exit {
			ci.handler = (*Machine).onSyscallExit
			set(fRet, "ret")
			set(fFildes, "fildes")
			return ci
		}
		ci.handler = (*Machine).onSyscallEntry
		switch sys {
		case "splice":
			set(fSysFD, "fd_in")
			set(fSysFD2, "fd_out")
		case "sendfile", "sendfile64":
			set(fSysFD, "in_fd")
			set(fSysFD2, "out_fd")
		case "dup2", "dup3":
			set(fSysFD, "oldfd")
			set(fSysFD2, "newfd")
		case "close_range":
			set(fSysFD, "fd", "first")
			set(fSysArg, "max_fd", "last")
		default:
			set(fSysFD, "fd", "fildes", "ufd")
		}
		set(fSysFlags, "flags", "cmd", "clone_flags")
		if sys == "fcntl" {
			set(fSysArg, "arg")
		}
		set(fSysPath, "filename", "pathname")
	}
	return ci
}

// syscallName returns the syscall of an entry or exit event name.
func syscallName(name string) (sys string, exit bool) {
	switch {
	case strings.HasPrefix(name, "syscall_entry_"):
		return name[len("syscall_entry_"):], false
	case strings.HasPrefix(name, "syscall_exit_"):
		return name[len("syscall_exit_"):], true
	case strings.HasPrefix(name, "compat_syscall_entry_"):
		return name[len("compat_syscall_entry_"):], false
	case strings.HasPrefix(name, "compat_syscall_exit_"):
		return name[len("compat_syscall_exit_"):], true
	case strings.HasPrefix(name, "sys_"):
		return name[len("sys_"):], false
	case strings.HasPrefix(name, "compat_sys_"):
		return name[len("compat_sys_"):], false
	}
	return "", false
}

// resolvePerf finds perf counter fields in the event's contexts.
func resolvePerf(e *meta.Event, s *ctf.Stream) []perfField {
	var out []perfField
	add := func(scope meta.Scope, c *meta.Class) {
		if c == nil || c.Kind != meta.KindStruct {
			return
		}
		for i, f := range c.Fields {
			n := strings.TrimPrefix(f.Name, "_")
			if strings.HasPrefix(n, "perf_") && (f.Class.Kind == meta.KindInt || f.Class.Kind == meta.KindEnum) {
				out = append(out, perfField{scope: scope, field: i, name: n})
			}
		}
	}
	if s != nil && s.Class != nil {
		add(meta.ScopeEventCommonContext, s.Class.EventContext)
	}
	add(meta.ScopeEventSpecificContext, e.Context)
	return out
}

// Field readers. A missing field (index -1) reads as ok == false.

func (ci *classInfo) int(ev *ctf.Event, slot int) (int64, bool) {
	i := ci.f[slot]
	if i < 0 {
		return 0, false
	}
	v := ev.Field(meta.ScopeEventPayload, i)
	if v == nil || v.Class == nil {
		return 0, false
	}
	switch v.Class.Kind {
	case meta.KindInt, meta.KindEnum, meta.KindVarInt:
		if v.Class.Signed || v.Class.Size >= 64 {
			return int64(v.Bits), true
		}
		return int64(v.Bits), true
	}
	return 0, false
}

func (ci *classInfo) text(ev *ctf.Event, slot int) ([]byte, bool) {
	i := ci.f[slot]
	if i < 0 {
		return nil, false
	}
	v := ev.Field(meta.ScopeEventPayload, i)
	if v == nil || v.Class == nil {
		return nil, false
	}
	switch v.Class.Kind {
	case meta.KindString, meta.KindStaticText, meta.KindDynamicText:
	case meta.KindArray, meta.KindSequence:
		if !v.Class.IsText() {
			return nil, false
		}
	default:
		return nil, false
	}
	b := ev.Bytes(v)
	if j := bytes.IndexByte(b, 0); j >= 0 {
		b = b[:j]
	}
	return b, true
}

// setString updates *dst with b, allocating only when it changed.
func setString(dst *string, b []byte) {
	if string(b) != *dst {
		*dst = string(b)
	}
}
