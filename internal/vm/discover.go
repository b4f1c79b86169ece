package vm

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/internal/vm/vcpu"
)

// VCPU is a vCPU thread of a VMM process, found by its name.
type VCPU struct {
	Index int    `json:"index"` // n of "CPU n/…"
	TID   int    `json:"tid"`
	Accel string `json:"accel"` // "TCG" or "KVM"
	Comm  string `json:"comm"`
}

// ParseVCPUComm recognises QEMU's vCPU thread names (with
// -name …,debug-threads=on, libvirt's default): "CPU 0/TCG", "CPU 3/KVM".
func ParseVCPUComm(comm string) (index int, accel string, ok bool) { return vcpu.Parse(comm) }

// VCPUThreads lists the vCPU threads of process pid from procfs (proc is
// "/proc" when empty), by vCPU index.
func VCPUThreads(proc string, pid int) ([]VCPU, error) {
	if proc == "" {
		proc = "/proc"
	}
	dir := filepath.Join(proc, strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("vCPU threads of process %d: %w", pid, err)
	}
	var vs []VCPU
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
		if err != nil {
			continue // thread gone
		}
		comm := strings.TrimSuffix(string(b), "\n")
		if n, accel, ok := ParseVCPUComm(comm); ok {
			vs = append(vs, VCPU{Index: n, TID: tid, Accel: accel, Comm: comm})
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Index < vs[j].Index })
	return vs, nil
}

// QEMUName returns the VM name given by -name (name or guest=name) on the
// command line of process pid, or "".
func QEMUName(proc string, pid int) string {
	if proc == "" {
		proc = "/proc"
	}
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	args := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
	for i := 0; i+1 < len(args); i++ {
		if string(args[i]) != "-name" && string(args[i]) != "--name" {
			continue
		}
		for j, opt := range strings.Split(string(args[i+1]), ",") {
			if k, v, ok := strings.Cut(opt, "="); ok && k == "guest" {
				return v
			} else if !ok && j == 0 {
				return opt
			}
		}
	}
	return ""
}

// PeerPID returns the process at the other end of a unix socket
// (SO_PEERCRED): for a virtio-serial chardev, the VMM (QEMU) itself.
func PeerPID(c *net.UnixConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := rc.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, fmt.Errorf("SO_PEERCRED: %w", serr)
	}
	return int(cred.Pid), nil
}
