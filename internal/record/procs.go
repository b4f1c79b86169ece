package record

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// procInfo is what the recorder knows of a thread, for the fields that
// tracefs records lack (thread group ids, namespace ids) and for contexts.
type procInfo struct {
	tgid, ppid int32
	vtids      []int32 // ids in each pid namespace, outermost first
	vpids      []int32
	vppid      int32
	pidns      uint32
	prio       int32
	comm       [16]byte
	known      bool
}

// procCache maps thread ids to procInfo, filled from /proc on a miss and
// kept up to date by fork, exec, exit and sched_switch records.
type procCache struct {
	mu sync.RWMutex
	m  map[int32]*procInfo
}

func newProcCache() *procCache { return &procCache{m: map[int32]*procInfo{}} }

// get returns a copy of what is known of tid, reading /proc when needed.
func (pc *procCache) get(tid int32) procInfo {
	pc.mu.RLock()
	p := pc.m[tid]
	pc.mu.RUnlock()
	if p != nil {
		return *p
	}
	np := readProc(tid)
	pc.mu.Lock()
	if len(pc.m) > 1<<20 {
		clear(pc.m) // bound memory on machines with huge thread churn
	}
	pc.m[tid] = &np
	pc.mu.Unlock()
	return np
}

func (pc *procCache) put(tid int32, p procInfo) {
	pc.mu.Lock()
	pc.m[tid] = &p
	pc.mu.Unlock()
}

func (pc *procCache) setComm(tid int32, comm []byte, prio int32) {
	pc.mu.RLock()
	p := pc.m[tid]
	pc.mu.RUnlock()
	if p == nil {
		return
	}
	pc.mu.Lock()
	n := copy(p.comm[:], comm)
	clear(p.comm[n:])
	p.prio = prio
	pc.mu.Unlock()
}

func (pc *procCache) forget(tid int32) {
	pc.mu.Lock()
	delete(pc.m, tid)
	pc.mu.Unlock()
}

// readProc reads /proc/TID/status (and the pid namespace link).
func readProc(tid int32) procInfo {
	p := procInfo{tgid: tid}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(tid)) + "/status")
	if err != nil {
		p.vtids = []int32{tid}
		p.vpids = []int32{tid}
		return p
	}
	p.known = true
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			copy(p.comm[:], v)
		case "Tgid":
			p.tgid = atoi32(v)
		case "PPid":
			p.ppid = atoi32(v)
		case "NSpid":
			p.vtids = ints(v)
		case "NStgid":
			p.vpids = ints(v)
		}
	}
	if len(p.vtids) == 0 {
		p.vtids = []int32{tid}
	}
	if len(p.vpids) == 0 {
		p.vpids = []int32{p.tgid}
	}
	p.pidns = nsInode(tid, "pid")
	if pp := readPPidNS(p.ppid, len(p.vpids)); pp >= 0 {
		p.vppid = pp
	}
	return p
}

// readPPidNS returns the parent's pid as seen in the innermost namespace
// of a child whose namespace depth is depth (0 when the parent is outside).
func readPPidNS(ppid int32, depth int) int32 {
	if ppid <= 0 {
		return 0
	}
	if depth <= 1 {
		return ppid
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(ppid)) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NStgid:"); ok {
			ids := ints(v)
			if len(ids) == depth {
				return ids[len(ids)-1]
			}
			return 0
		}
	}
	return 0
}

// nsInode returns the inode of /proc/TID/ns/KIND ("pid:[4026531836]").
func nsInode(tid int32, kind string) uint32 {
	s, err := os.Readlink("/proc/" + strconv.Itoa(int(tid)) + "/ns/" + kind)
	if err != nil {
		return 0
	}
	i := strings.IndexByte(s, '[')
	j := strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return 0
	}
	n, _ := strconv.ParseUint(s[i+1:j], 10, 32)
	return uint32(n)
}

func atoi32(s string) int32 {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return int32(n)
}

func ints(s string) []int32 {
	var out []int32
	for _, f := range strings.Fields(s) {
		out = append(out, atoi32(f))
	}
	return out
}
