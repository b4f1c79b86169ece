// Command tracefs-read is the plain-tracefs baseline of
// bench/record-overhead.sh: it records tracepoints into a tracefs instance
// of its own with one reader per CPU that reads whole pages from
// trace_pipe_raw and drops them (the least work a tracefs consumer can
// do), runs a command, and prints the command's wall time in nanoseconds
// and the events the kernel lost, on one line: "NS LOST".
//
//	tracefs-read -events 'syscalls/sys_enter_*,syscalls/sys_exit_*,sched/sched_switch' -- dd if=/dev/zero of=/dev/null bs=1 count=200000
//
// With -reader, the readers are the recorder's page loop instead (wait on
// the buffer with buffer_percent 25 and a 100 ms period, then take pages
// until ftrace.ErrNoData, reading the clock before each page, decoding the
// page headers) and the readers' own CPU time is printed on stderr with the
// kernel calls and pages per second:
//
//	-reader read-syscall   read(2) per page, clock_gettime system call per page (the recorder before)
//	-reader splice         ftrace.CPUReader: splice, one read(2) of the page being written per drain, vDSO clock
//	-reader read           ftrace.CPUReader without splice, vDSO clock
//	-reader mmap           the kernel's memory-mapped reader (>= 6.10), an ioctl per page (reads/s counts them)
//
//	tracefs-read -reader splice -- busy-machine 500 110000 10
//
// -notrace-pid PID leaves out the events of a process (bench/top.sh: the
// machine's event rate besides the top's own).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	root := flag.String("tracefs", "/sys/kernel/tracing", "tracefs mount point")
	events := flag.String("events", "syscalls/sys_enter_*,syscalls/sys_exit_*,sched/sched_switch", "comma-separated SYSTEM/EVENT globs")
	sizeKB := flag.Int("buffer-kb", 4096, "buffer size per CPU in KiB (tracetop's default channel: 4 x 1 MiB)")
	reader := flag.String("reader", "", "recorder-style page loop: read-syscall, read or splice (empty: plain read loop)")
	notrace := flag.Int("notrace-pid", 0, "with -reader: leave out the events of this process's threads and of the threads and children it makes later (set_event_notrace_pid)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tracefs-read [-events LIST] -- COMMAND [ARG...]")
		os.Exit(2)
	}
	var ns int64
	var lost uint64
	var err error
	if *reader != "" {
		ns, lost, err = runRecorderLoop(*root, *events, *sizeKB, *reader, *notrace, flag.Args())
	} else {
		ns, lost, err = run(*root, *events, *sizeKB, flag.Args())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracefs-read:", err)
		os.Exit(1)
	}
	fmt.Println(ns, lost)
}

func write(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0); err != nil {
		return fmt.Errorf("%s = %q: %w", path, v, err)
	}
	return nil
}

func run(root, events string, sizeKB int, argv []string) (int64, uint64, error) {
	inst := filepath.Join(root, "instances", fmt.Sprintf("bench-plain-%d", os.Getpid()))
	if err := os.Mkdir(inst, 0o700); err != nil {
		return 0, 0, err
	}
	defer func() {
		write(filepath.Join(inst, "tracing_on"), "0")
		write(filepath.Join(inst, "events", "enable"), "0")
		os.Remove(inst)
	}()
	for _, kv := range [][2]string{{"tracing_on", "0"}, {"trace_clock", "mono"}, {"buffer_size_kb", strconv.Itoa(sizeKB)},
		{"options/overwrite", "0"}, {"buffer_percent", "0"}} {
		if err := write(filepath.Join(inst, kv[0]), kv[1]); err != nil {
			return 0, 0, err
		}
	}
	n := 0
	for _, pat := range strings.Split(events, ",") {
		m, _ := filepath.Glob(filepath.Join(inst, "events", pat, "enable"))
		for _, f := range m {
			if err := write(f, "1"); err != nil {
				return 0, 0, err
			}
			n++
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("no event matches %q", events)
	}
	cpus, _ := filepath.Glob(filepath.Join(inst, "per_cpu", "cpu*"))
	var wg sync.WaitGroup
	var stop sync.Once
	done := make(chan struct{})
	for _, c := range cpus {
		fd, err := unix.Open(filepath.Join(c, "trace_pipe_raw"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer unix.Close(fd)
			buf := make([]byte, os.Getpagesize())
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			for {
				n, err := unix.Read(fd, buf)
				if err == nil && n > 0 {
					continue
				}
				if err != nil && !errors.Is(err, unix.EAGAIN) {
					return
				}
				select {
				case <-done:
					return // drained after tracing stopped
				default:
				}
				unix.Poll(pfd, 100)
			}
		}()
	}
	if err := write(filepath.Join(inst, "tracing_on"), "1"); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	t0 := time.Now()
	err := cmd.Run()
	ns := time.Since(t0).Nanoseconds()
	write(filepath.Join(inst, "tracing_on"), "0")
	stop.Do(func() { close(done) })
	wg.Wait()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", argv[0], err)
	}
	var lost uint64
	for _, c := range cpus {
		b, _ := os.ReadFile(filepath.Join(c, "stats"))
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && (k == "overrun" || k == "dropped events") {
				x, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				lost += x
			}
		}
	}
	return ns, lost, nil
}
