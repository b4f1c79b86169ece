package ftrace

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoData is returned by ReadPage when the buffer holds nothing to read.
var ErrNoData = errors.New("no data")

// spliceBatch is how many bytes of whole pages one splice(2) moves from
// the ring buffer into the reader's pipe (the pipe is sized to hold them;
// 64 KiB is the default pipe size, and more pages per call save little).
const spliceBatch = 64 << 10

// tailWindow bounds how long after the read(2) of the page the writer is
// on ReadPage still answers ErrNoData without asking the kernel again;
// see ReadPage.
const tailWindow = 250 * time.Microsecond

// CPUReader reads whole pages from per_cpu/cpuN/trace_pipe_raw without
// blocking.
//
// Whole pages are spliced from the ring buffer into a pipe of the
// reader's own, many at a time (the kernel swaps its pages out, no copy),
// and read from the pipe in one read(2); ReadPage hands them out one by
// one. The page the kernel is still writing to cannot be spliced: it is
// copied with read(2), once per drain (see ReadPage). Without splice (the
// kernel refuses it) every page is read with read(2).
type CPUReader struct {
	fd  int
	CPU int

	psize  int    // ring-buffer page (sub-buffer) size
	pr, pw int    // the pipe, -1 when not splicing
	batch  []byte // whole pages taken from the pipe
	off    int    // batch[off:end] not handed out yet
	end    int
	tail   time.Time // start of the last read(2) of the page being written
	inTail bool      // tail is set and nothing was read since
	pfd    [1]unix.PollFd

	// Counters for benchmarks: kernel calls made and pages handed out.
	Splices, Reads, Pages uint64
}

// OpenCPU opens per_cpu/cpuN/trace_pipe_raw, non-blocking.
func (in *Instance) OpenCPU(cpu int) (*CPUReader, error) {
	p := filepath.Join(in.Dir, "per_cpu", fmt.Sprintf("cpu%d", cpu), "trace_pipe_raw")
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open cpu %d buffer: %w", cpu, permErr(err))
	}
	r := &CPUReader{fd: fd, CPU: cpu, psize: in.fs.page.PageSize, pr: -1, pw: -1}
	if r.psize <= 0 {
		r.psize = DefaultPageLayout.PageSize
	}
	r.openPipe()
	return r, nil
}

// OpenCPUReadOnly is OpenCPU without splice: every page is read with
// read(2), as on a kernel that refuses splice. For comparisons.
func (in *Instance) OpenCPUReadOnly(cpu int) (*CPUReader, error) {
	r, err := in.OpenCPU(cpu)
	if err == nil {
		r.closePipe()
	}
	return r, err
}

// openPipe sets the reader up for splicing; on any failure it reads with
// read(2) only.
func (r *CPUReader) openPipe() {
	var p [2]int
	if unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC) != nil {
		return
	}
	r.pr, r.pw = p[0], p[1]
	size := max(spliceBatch, r.psize)
	if got, err := unix.FcntlInt(uintptr(r.pw), unix.F_SETPIPE_SZ, size); err == nil {
		size = got
	} else if got, err := unix.FcntlInt(uintptr(r.pw), unix.F_GETPIPE_SZ, 0); err == nil {
		size = got
	}
	size -= size % r.psize
	if size <= 0 {
		r.closePipe()
		return
	}
	r.batch = make([]byte, size)
}

func (r *CPUReader) closePipe() {
	if r.pr >= 0 {
		unix.Close(r.pr)
		unix.Close(r.pw)
	}
	r.pr, r.pw, r.batch, r.off, r.end = -1, -1, nil, 0, 0
}

// Splicing reports whether the reader splices whole pages (false: it
// reads every page with read(2)).
func (r *CPUReader) Splicing() bool { return r.pr >= 0 }

// ReadPage reads one page into buf (at least a page long) and returns its
// length. It returns ErrNoData when the buffer holds nothing more to read:
// nothing at all, or, when splicing, nothing but what was written after the
// last page was read, provided that read started at most 250 µs before
// (the reader caught up with the writer: reading again at once would only
// chase it, a few events per call). ErrNoData thus says every event the
// kernel committed before that read started has been handed out. The page
// header's missed-events flag and count are the kernel's, page by page.
func (r *CPUReader) ReadPage(buf []byte) (int, error) {
	if r.off < r.end {
		return r.next(buf), nil
	}
	if r.pr >= 0 {
		got, err := r.splice()
		if err != nil {
			return 0, err
		}
		if got {
			r.inTail = false
			return r.next(buf), nil
		}
		if r.pr >= 0 && r.inTail && time.Since(r.tail) < tailWindow {
			r.inTail = false
			return 0, ErrNoData
		}
		// No whole page: the writer is on the oldest page, or nothing
		// is there at all.
		t := time.Now()
		n, err := r.read(buf)
		if err == nil && r.pr >= 0 {
			r.tail, r.inTail = t, true
		}
		return n, err
	}
	return r.read(buf)
}

func (r *CPUReader) next(buf []byte) int {
	n := copy(buf, r.batch[r.off:r.off+r.psize])
	r.off += r.psize
	r.Pages++
	return n
}

// splice moves the whole pages the buffer holds (up to a batch) into the
// pipe and reads them into batch. It reports whether it got any; it turns
// splicing off when the kernel refuses it.
func (r *CPUReader) splice() (bool, error) {
	var n int64
	var err error
	for {
		r.Splices++
		n, err = unix.Splice(r.fd, nil, r.pw, nil, len(r.batch), unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.EAGAIN || err == nil && n == 0:
		return false, nil
	case err != nil:
		// EINVAL and the like: this kernel or file does not splice.
		r.closePipe()
		return false, nil
	}
	got := 0
	for got < int(n) {
		m, err := unix.Read(r.pr, r.batch[got:n])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil || m == 0:
			// The pages are in the pipe and cannot be read: give up
			// splicing; what the pipe held is lost, so say so.
			r.closePipe()
			return false, fmt.Errorf("read cpu %d buffer: pipe: %d of %d spliced bytes read: %v", r.CPU, got, n, err)
		}
		got += m
	}
	r.off, r.end = 0, got-got%r.psize
	return r.end > 0, nil
}

func (r *CPUReader) read(buf []byte) (int, error) {
	for {
		r.Reads++
		n, err := unix.Read(r.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == nil && n == 0:
			return 0, ErrNoData
		case err != nil:
			return 0, fmt.Errorf("read cpu %d buffer: %w", r.CPU, err)
		}
		r.Pages++
		return n, nil
	}
}

// Wait blocks until the buffer is filled to the instance's buffer_percent
// or timeout passes. It reports whether the buffer said it was ready.
func (r *CPUReader) Wait(timeout time.Duration) (bool, error) {
	r.pfd[0] = unix.PollFd{Fd: int32(r.fd), Events: unix.POLLIN}
	n, err := unix.Poll(r.pfd[:], int(timeout/time.Millisecond))
	if err == unix.EINTR {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("poll cpu %d buffer: %w", r.CPU, err)
	}
	return n > 0 && r.pfd[0].Revents&unix.POLLIN != 0, nil
}

// Close closes the buffer file and the pipe.
func (r *CPUReader) Close() error {
	if r.fd < 0 {
		return nil
	}
	r.closePipe()
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}
