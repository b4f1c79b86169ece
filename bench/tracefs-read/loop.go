package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ftrace"
)

// loopStats is what one recorder-style reader did.
type loopStats struct {
	pages, bytes, events, drains, empties uint64
	splices, reads                        uint64
}

// runRecorderLoop records like run, with the recorder's page loop as the
// readers (see the package comment), and prints the readers' CPU use.
func runRecorderLoop(root, events string, sizeKB int, mode string, notrace int, argv []string) (int64, uint64, error) {
	var clock func() int64
	readOnly := false
	switch mode {
	case "read-syscall":
		readOnly = true
		clock = func() int64 {
			var ts unix.Timespec
			unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			return ts.Nano()
		}
	case "read":
		readOnly, clock = true, ftrace.MonoNow
	case "splice", "mmap":
		clock = ftrace.MonoNow
	default:
		return 0, 0, fmt.Errorf("-reader %q: want read-syscall, read, splice or mmap", mode)
	}
	fs, err := ftrace.Open(root)
	if err != nil {
		return 0, 0, err
	}
	in, err := fs.NewInstance("bench-loop")
	if err != nil {
		return 0, 0, err
	}
	defer in.Remove()
	for _, err := range []error{in.SetTracing(false), in.SetClock("mono"), in.SetBufferSizeKB(sizeKB),
		in.SetOverwrite(false), in.SetBufferPercent(25)} {
		if err != nil {
			return 0, 0, err
		}
	}
	if notrace > 0 {
		if err := in.LeaveOut(notrace); err != nil {
			return 0, 0, err
		}
	}
	n := 0
	for _, pat := range strings.Split(events, ",") {
		m, _ := filepath.Glob(filepath.Join(in.Dir, "events", pat, "enable"))
		for _, f := range m {
			if err := os.WriteFile(f, []byte("1"), 0); err != nil {
				return 0, 0, err
			}
			n++
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("no event matches %q", events)
	}
	cpus, err := ftrace.OnlineCPUs()
	if err != nil {
		return 0, 0, err
	}
	layout := fs.PageLayout()
	done := make(chan struct{})
	var wg sync.WaitGroup
	stats := make([]loopStats, len(cpus))
	var rds []*ftrace.CPUReader
	var mms []*mmapReader
	for _, c := range cpus {
		if mode == "mmap" {
			m, err := openMmap(in, c)
			if err != nil {
				return 0, 0, err
			}
			mms = append(mms, m)
			continue
		}
		rd, err := in.OpenCPU(c)
		if readOnly && err == nil {
			rd.Close()
			rd, err = in.OpenCPUReadOnly(c)
		}
		if err != nil {
			return 0, 0, err
		}
		rds = append(rds, rd)
	}
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for i, m := range mms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &stats[i]
			buf := make([]byte, m.subbuf)
			var pg ftrace.Page
			var rec ftrace.Record
			page := func(b []byte, skip int) int {
				st.pages++
				k := 0
				if pg.Reset(b, layout) == nil {
					for pg.Next(&rec) {
						if k++; k > skip {
							st.events++
							st.bytes += uint64(len(rec.Data))
						}
					}
				}
				return k
			}
			drain := func() {
				st.drains++
				clock()
				if err := m.drain(buf, page); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
			}
			pollLoop(done, m.Wait, drain)
		}()
	}
	for i, rd := range rds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &stats[i]
			buf := make([]byte, layout.PageSize)
			var pg ftrace.Page
			var rec ftrace.Record
			var mark int64
			drain := func() {
				st.drains++
				for {
					t0 := clock()
					n, err := rd.ReadPage(buf)
					if err != nil {
						if err == ftrace.ErrNoData {
							st.empties++
							mark = max(mark, t0)
						}
						return
					}
					st.pages++
					if pg.Reset(buf[:n], layout) == nil {
						for pg.Next(&rec) {
							st.events++
							st.bytes += uint64(len(rec.Data))
						}
					}
				}
			}
			pollLoop(done, rd.Wait, drain)
		}()
	}
	if err := in.SetTracing(true); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
	in.SetTracing(false)
	close(done)
	wg.Wait()
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", argv[0], err)
	}
	var lost, kread uint64
	var tot loopStats
	for i, m := range mms {
		tot.pages += stats[i].pages
		tot.events += stats[i].events
		tot.bytes += stats[i].bytes
		tot.drains += stats[i].drains
		tot.reads += m.ioctls
		if st, err := in.Stats(m.cpu); err == nil {
			lost += st.Overrun + st.DroppedEvents
			kread += st.ReadEvents
		}
		m.Close()
	}
	for i, rd := range rds {
		tot.pages += stats[i].pages
		tot.events += stats[i].events
		tot.bytes += stats[i].bytes
		tot.drains += stats[i].drains
		tot.splices += rd.Splices
		tot.reads += rd.Reads
		if st, err := in.Stats(rd.CPU); err == nil {
			lost += st.Overrun + st.DroppedEvents
			kread += st.ReadEvents
		}
		rd.Close()
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	secs := wall.Seconds()
	fmt.Fprintf(os.Stderr, "reader %-12s %6.2f %% of a core (user %.2f %%, system %.2f %%) for %.0f events/s: %.0f pages/s (%.0f bytes of event data each), %.0f splices/s, %.0f reads/s, %.0f drains/s; %.2f µs per page; %d events taken, the kernel counts %d read\n",
		mode, cpu.Seconds()/secs*100,
		float64(ru1.Utime.Nano()-ru0.Utime.Nano())/1e9/secs*100, float64(ru1.Stime.Nano()-ru0.Stime.Nano())/1e9/secs*100,
		float64(tot.events)/secs, float64(tot.pages)/secs, float64(tot.bytes)/max(float64(tot.pages), 1),
		float64(tot.splices)/secs, float64(tot.reads)/secs, float64(tot.drains)/secs,
		cpu.Seconds()*1e6/max(float64(tot.pages), 1), tot.events, kread)
	return wall.Nanoseconds(), lost, nil
}

// pollLoop drains when the reader says data is ready, at least every
// 100 ms, and once more when done closes: the recorder's loop.
func pollLoop(done <-chan struct{}, wait func(time.Duration) (bool, error), drain func()) {
	last := time.Now()
	for {
		select {
		case <-done:
			drain()
			return
		default:
		}
		ready, _ := wait(100 * time.Millisecond)
		if !ready && time.Since(last) < 100*time.Millisecond {
			continue
		}
		last = time.Now()
		drain()
	}
}
