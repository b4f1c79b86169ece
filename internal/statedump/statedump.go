package statedump

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tracetop/tracetop/ctf/writer"
)

// Emit receives one statedump event: its class (one of Dumper.Classes),
// the thread it describes (0 when none) and its encoded payload, valid
// only during the call.
type Emit func(class *writer.EventClass, tid int32, payload []byte)

// Dumper writes the state of the machine as lttng-modules 2.13's
// statedump events.
type Dumper struct {
	// Proc and Sys are the mount points of procfs and sysfs.
	Proc, Sys string

	start, end, process, fd, cpu, block, irq, netif *writer.EventClass
	ns                                              map[string]*writer.EventClass
	p                                               writer.Payload
}

// Names of the namespace events, in the order lttng-modules emits them.
var nsKinds = []string{"cgroup", "ipc", "mnt", "net", "pid", "user", "uts", "time"}

// New returns a Dumper reading /proc and /sys.
func New() *Dumper {
	d := &Dumper{Proc: "/proc", Sys: "/sys", ns: map[string]*writer.EventClass{}}
	ev := func(name string, fs ...writer.Field) *writer.EventClass {
		return &writer.EventClass{Name: name, Fields: fs}
	}
	d.start = ev("lttng_statedump_start")
	d.end = ev("lttng_statedump_end")
	d.process = ev("lttng_statedump_process_state",
		writer.I32("tid"), writer.I32("pid"), writer.I32("ppid"), writer.Comm("name"),
		writer.I32("type"), writer.I32("mode"), writer.I32("submode"), writer.I32("status"),
		writer.U32("cpu"), writer.Hex64("file_table_address"))
	for _, k := range nsKinds {
		switch k {
		case "pid":
			d.ns[k] = ev("lttng_statedump_process_pid_ns", writer.I32("tid"), writer.I32("vtid"),
				writer.I32("vpid"), writer.I32("vppid"), writer.I32("ns_level"), writer.U32("ns_inum"))
		case "user":
			d.ns[k] = ev("lttng_statedump_process_user_ns", writer.I32("tid"), writer.U32("vuid"),
				writer.U32("vgid"), writer.I32("ns_level"), writer.U32("ns_inum"))
		default:
			d.ns[k] = ev("lttng_statedump_process_"+k+"_ns", writer.I32("tid"), writer.U32("ns_inum"))
		}
	}
	// lttng-modules 2.13 identifies the process by its files table only;
	// pid (the layout before 2.12) is kept too, since analyses such as
	// lttng-analyses 0.6 look files up by it.
	d.fd = ev("lttng_statedump_file_descriptor", writer.Hex64("file_table_address"), writer.I32("pid"), writer.I32("fd"),
		writer.Field{Name: "flags", Bits: 32, Base: 8}, writer.Field{Name: "fmode", Bits: 32, Base: 16}, writer.Str("filename"))
	d.cpu = ev("lttng_statedump_cpu_topology", writer.Str("architecture"), writer.U16("cpu_id"), writer.Str("vendor"),
		writer.U8("family"), writer.U8("model"), writer.Str("model_name"), writer.U16("physical_id"),
		writer.U16("core_id"), writer.U16("cores"))
	d.block = ev("lttng_statedump_block_device", writer.U32("dev"), writer.Str("diskname"))
	d.irq = ev("lttng_statedump_interrupt", writer.U32("irq"), writer.Str("name"), writer.Str("action"), writer.I32("tid"))
	d.netif = ev("lttng_statedump_network_interface", writer.Str("name"),
		writer.Field{Name: "address_ipv4", Bits: 32, Base: 16, BigEndian: true})
	return d
}

// Classes returns the event classes the dumper emits.
func (d *Dumper) Classes() []*writer.EventClass {
	out := []*writer.EventClass{d.start, d.end, d.process}
	for _, k := range nsKinds {
		out = append(out, d.ns[k])
	}
	return append(out, d.fd, d.cpu, d.block, d.irq, d.netif)
}

// Run emits lttng_statedump_start, every thread with its namespaces and
// its process's open files, the CPUs, block devices, interrupts and
// network interfaces, then lttng_statedump_end. Threads that vanish
// during the walk are skipped.
func (d *Dumper) Run(emit Emit) error {
	p := &d.p
	p.Reset()
	emit(d.start, 0, p.B)
	if err := d.processes(emit); err != nil {
		return err
	}
	d.cpus(emit)
	d.blocks(emit)
	d.interrupts(emit)
	d.netifs(emit)
	p.Reset()
	emit(d.end, 0, p.B)
	return nil
}

// Process states as lttng-modules encodes them.
const (
	typeUserThread   = 0
	typeKernelThread = 1
	modeUnknown      = 5 // LTTNG_MODE_UNKNOWN
	submodeNone      = 0
	statusWaitCPU    = 2
	statusExit       = 3
	statusWait       = 5
	statusRun        = 6
	statusDead       = 7
)

type task struct {
	tid, pid, ppid int32
	name           string
	state          byte
	cpu            uint32
	kthread        bool
	nstgid, nspid  []int32
	uid, gid       uint32
}

func (d *Dumper) readTask(pid, tid string) (task, bool) {
	var t task
	dir := filepath.Join(d.Proc, pid, "task", tid)
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return t, false
	}
	t.tid = atoi(tid)
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			t.name = v
		case "State":
			if v != "" {
				t.state = v[0]
			}
		case "Tgid":
			t.pid = atoi(v)
		case "PPid":
			t.ppid = atoi(v)
		case "NStgid":
			t.nstgid = atois(v)
		case "NSpid":
			t.nspid = atois(v)
		case "Uid":
			t.uid = uint32(atoi(strings.Fields(v + " 0")[0]))
		case "Gid":
			t.gid = uint32(atoi(strings.Fields(v + " 0")[0]))
		case "Kthread":
			t.kthread = v == "1"
		}
	}
	if st, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		// field 39 is the CPU; fields after the ")" of comm
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 36 {
				t.cpu = uint32(atoi(f[36]))
			}
			if len(f) > 6 && !t.kthread {
				// PF_KTHREAD (0x00200000) in the flags field
				fl, _ := strconv.ParseUint(f[6], 10, 64)
				t.kthread = fl&0x00200000 != 0
			}
		}
	}
	return t, true
}

func (d *Dumper) processes(emit Emit) error {
	ents, err := os.ReadDir(d.Proc)
	if err != nil {
		return fmt.Errorf("statedump: %w", err)
	}
	p := &d.p
	for _, e := range ents {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		tids, err := os.ReadDir(filepath.Join(d.Proc, pid, "task"))
		if err != nil {
			continue
		}
		var fdTable uint64
		for _, te := range tids {
			t, ok := d.readTask(pid, te.Name())
			if !ok {
				continue
			}
			typ := int32(typeUserThread)
			if t.kthread {
				typ = typeKernelThread
			}
			status := int32(statusWait)
			switch t.state {
			case 'R':
				status = statusRun
			case 'Z':
				status = statusExit
			case 'X':
				status = statusDead
			}
			// lttng prints the kernel address of the files table shared by
			// the threads of a process; the process id stands in for it.
			fdTable = uint64(atoi(pid))
			if t.kthread {
				fdTable = 0
			}
			p.Reset()
			p.I32(t.tid)
			p.I32(t.pid)
			p.I32(t.ppid)
			p.TextString(t.name, 16)
			p.I32(typ)
			p.I32(modeUnknown)
			p.I32(submodeNone)
			p.I32(status)
			p.U32(t.cpu)
			p.U64(fdTable)
			emit(d.process, t.tid, p.B)
			d.namespaces(emit, pid, te.Name(), t)
		}
		if fdTable != 0 {
			d.files(emit, pid, fdTable)
		}
	}
	return nil
}

func (d *Dumper) nsInode(pid, tid, kind string) uint32 {
	s, err := os.Readlink(filepath.Join(d.Proc, pid, "task", tid, "ns", kind))
	if err != nil {
		return 0
	}
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return 0
	}
	n, _ := strconv.ParseUint(s[i+1:j], 10, 32)
	return uint32(n)
}

func (d *Dumper) namespaces(emit Emit, pid, tid string, t task) {
	p := &d.p
	for _, k := range nsKinds {
		c := d.ns[k]
		inum := d.nsInode(pid, tid, k)
		switch k {
		case "pid":
			// One event per nesting level, outermost first, as lttng-modules
			// walks the namespace parents (it emits from the task's own
			// namespace up; the levels are what readers use).
			levels := len(t.nspid)
			if levels == 0 {
				levels = 1
			}
			for lvl := 0; lvl < levels; lvl++ {
				vtid, vpid := t.tid, t.pid
				if lvl < len(t.nspid) {
					vtid = t.nspid[lvl]
				}
				if lvl < len(t.nstgid) {
					vpid = t.nstgid[lvl]
				}
				// The parent's id at this level, 0 when the parent is
				// outside the namespace (a namespace's first process).
				vppid := t.ppid
				if lvl > 0 {
					vppid = 0
					if pp, ok := d.readTask(itoa(t.ppid), itoa(t.ppid)); ok && lvl < len(pp.nstgid) {
						vppid = pp.nstgid[lvl]
					}
				}
				ino := inum
				if lvl < levels-1 {
					ino = d.levelInode(t, lvl)
				}
				p.Reset()
				p.I32(t.tid)
				p.I32(vtid)
				p.I32(vpid)
				p.I32(vppid)
				p.I32(int32(lvl))
				p.U32(ino)
				emit(c, t.tid, p.B)
			}
		case "user":
			p.Reset()
			p.I32(t.tid)
			p.U32(t.uid)
			p.U32(t.gid)
			p.I32(0)
			p.U32(inum)
			emit(c, t.tid, p.B)
		default:
			if inum == 0 && k == "time" {
				continue
			}
			p.Reset()
			p.I32(t.tid)
			p.U32(inum)
			emit(c, t.tid, p.B)
		}
	}
}

// levelInode returns the inode of the pid namespace at level lvl above
// task t: that of its nearest ancestor whose own namespace is at that
// level (the outermost one at level 0).
func (d *Dumper) levelInode(t task, lvl int) uint32 {
	pid := t.ppid
	for range 64 {
		if pid <= 0 {
			break
		}
		a, ok := d.readTask(itoa(pid), itoa(pid))
		if !ok {
			break
		}
		if len(a.nstgid) == lvl+1 {
			return d.nsInode(itoa(pid), itoa(pid), "pid")
		}
		pid = a.ppid
	}
	if lvl == 0 {
		return d.nsInode("1", "1", "pid")
	}
	return 0
}

func (d *Dumper) files(emit Emit, pid string, table uint64) {
	dir := filepath.Join(d.Proc, pid, "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	p := &d.p
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		var flags, fmode uint32
		if b, err := os.ReadFile(filepath.Join(d.Proc, pid, "fdinfo", e.Name())); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "flags:"); ok {
					n, _ := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
					flags = uint32(n)
				}
			}
		}
		// FMODE_READ 1, FMODE_WRITE 2, from the access mode
		switch flags & 3 {
		case 0:
			fmode = 1
		case 1:
			fmode = 2
		case 2:
			fmode = 3
		}
		p.Reset()
		p.U64(table)
		p.I32(atoi(pid))
		p.I32(atoi(e.Name()))
		p.U32(flags)
		p.U32(fmode)
		p.String(target)
		emit(d.fd, atoi(pid), p.B)
	}
}

func (d *Dumper) cpus(emit Emit) {
	f, err := os.Open(filepath.Join(d.Proc, "cpuinfo"))
	if err != nil {
		return
	}
	defer f.Close()
	p := &d.p
	cur := map[string]string{}
	flush := func() {
		if _, ok := cur["processor"]; !ok {
			return
		}
		p.Reset()
		p.String("x86")
		p.U16(uint16(atoi(cur["processor"])))
		p.String(orUnknown(cur["vendor_id"]))
		p.U8(uint8(atoi(cur["cpu family"])))
		p.U8(uint8(atoi(cur["model"])))
		p.String(orUnknown(cur["model name"]))
		p.U16(uint16(atoi(cur["physical id"])))
		p.U16(uint16(atoi(cur["core id"])))
		p.U16(uint16(atoi(cur["cpu cores"])))
		emit(d.cpu, 0, p.B)
		clear(cur)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if ok {
			cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	flush()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// blocks emits each disk and partition with its dev_t in the kernel's
// internal encoding (major << 20 | minor), as lttng-modules does.
func (d *Dumper) blocks(emit Emit) {
	b, err := os.ReadFile(filepath.Join(d.Proc, "partitions"))
	if err != nil {
		return
	}
	p := &d.p
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) != 4 {
			continue
		}
		maj, err1 := strconv.ParseUint(f[0], 10, 32)
		minr, err2 := strconv.ParseUint(f[1], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		p.Reset()
		p.U32(uint32(maj<<20 | minr))
		p.String(f[3])
		emit(d.block, 0, p.B)
	}
}

func (d *Dumper) interrupts(emit Emit) {
	ents, err := os.ReadDir(filepath.Join(d.Sys, "kernel", "irq"))
	if err != nil {
		return
	}
	p := &d.p
	for _, e := range ents {
		irq, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(d.Sys, "kernel", "irq", e.Name())
		actions := readTrim(filepath.Join(dir, "actions"))
		if actions == "" {
			continue
		}
		chip := readTrim(filepath.Join(dir, "chip_name"))
		for _, a := range strings.Split(actions, ",") {
			p.Reset()
			p.U32(uint32(irq))
			p.String(chip)
			p.String(a)
			p.I32(0)
			emit(d.irq, 0, p.B)
		}
	}
}

func (d *Dumper) netifs(emit Emit) {
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	p := &d.p
	for _, in := range ifs {
		addrs, _ := in.Addrs()
		n := 0
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil {
				continue
			}
			p.Reset()
			p.String(in.Name)
			p.BE32(binary.BigEndian.Uint32(ipn.IP.To4()))
			emit(d.netif, 0, p.B)
			n++
		}
		if n == 0 {
			p.Reset()
			p.String(in.Name)
			p.BE32(0)
			emit(d.netif, 0, p.B)
		}
	}
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func atoi(s string) int32 {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return int32(n)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func atois(s string) []int32 {
	var out []int32
	for _, f := range strings.Fields(s) {
		out = append(out, atoi(f))
	}
	return out
}
