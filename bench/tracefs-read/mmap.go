package main

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ftrace"
)

// mmapReader reads a CPU's ring buffer through the kernel's memory-mapped
// reader (Linux >= 6.10): the meta page says which sub-buffer is the
// reader's and how far the kernel counts it read; the ioctl
// TRACE_MMAP_IOCTL_GET_READER consumes what the reader page holds, or
// swaps a new reader page in when it was all read. Only for comparing
// its cost with splice in this benchmark: each call of drain takes what
// is there, the page being written once, like ftrace.CPUReader.
type mmapReader struct {
	fd      int
	cpu     int
	mem     []byte
	metaLen int
	subbuf  int
	nsub    int
	count   int // events of the reader page already taken
	ioctls  uint64
	pfd     [1]unix.PollFd
}

// trace_mmap.h: _IO('R', 0x20)
const traceMmapGetReader = 'R'<<8 | 0x20

// trace_buffer_meta offsets
const (
	metaPageSize = 0
	metaSubbuf   = 8
	metaNrSubbuf = 12
	metaReaderID = 24
	metaReaderRd = 28
)

func openMmap(in *ftrace.Instance, cpu int) (*mmapReader, error) {
	p := filepath.Join(in.Dir, "per_cpu", fmt.Sprintf("cpu%d", cpu), "trace_pipe_raw")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r := &mmapReader{fd: fd, cpu: cpu}
	meta, err := unix.Mmap(fd, 0, unix.Getpagesize(), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap cpu %d meta page: %w", cpu, err)
	}
	r.metaLen = int(binary.LittleEndian.Uint32(meta[metaPageSize:]))
	r.subbuf = int(binary.LittleEndian.Uint32(meta[metaSubbuf:]))
	r.nsub = int(binary.LittleEndian.Uint32(meta[metaNrSubbuf:]))
	unix.Munmap(meta)
	r.mem, err = unix.Mmap(fd, 0, r.metaLen+r.subbuf*r.nsub, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap cpu %d buffer: %w", cpu, err)
	}
	return r, nil
}

func (r *mmapReader) u32(off int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.mem[off])))
}

func (r *mmapReader) Wait(timeout time.Duration) (bool, error) {
	r.pfd[0] = unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN}
	n, err := unix.Poll(r.pfd[:], int(timeout/time.Millisecond))
	if err != nil && err != unix.EINTR {
		return false, err
	}
	return n > 0 && r.pfd[0].Revents&unix.POLLIN != 0, nil
}

// drain takes every page there is into buf one after the other, calling
// page for each with the number of its first events already taken.
func (r *mmapReader) drain(buf []byte, page func(b []byte, skip int) int) error {
	for {
		oldID, oldRead := r.u32(metaReaderID), r.u32(metaReaderRd)
		r.ioctls++
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(r.fd), traceMmapGetReader, 0); e != 0 {
			return fmt.Errorf("cpu %d: TRACE_MMAP_IOCTL_GET_READER: %w", r.cpu, e)
		}
		id, read := r.u32(metaReaderID), r.u32(metaReaderRd)
		if id == oldID && read == oldRead {
			return nil // nothing new
		}
		if id != oldID {
			r.count = 0
		}
		off := r.metaLen + int(id)*r.subbuf
		n := copy(buf, r.mem[off:off+r.subbuf])
		// The kernel counts the page read up to read: take that much.
		commit := binary.LittleEndian.Uint64(buf[8:])
		flags := commit &^ (1<<30 - 1)
		if id == oldID {
			flags = 0 // said with the page's first part
		}
		binary.LittleEndian.PutUint64(buf[8:], uint64(read)|flags)
		r.count = page(buf[:n], r.count)
		if id == oldID {
			return nil // the page being written, once per drain
		}
	}
}

func (r *mmapReader) Close() {
	unix.Munmap(r.mem)
	unix.Close(r.fd)
}
