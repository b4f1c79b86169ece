package ftrace_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/testenv"
)

// getppidSession is an instance recording only sys_enter_getppid of one
// thread, so the test knows exactly how many events the kernel wrote.
type getppidSession struct {
	fs   *ftrace.FS
	in   *ftrace.Instance
	id   uint16 // the event's common_type
	cpus []int
}

func newGetppidSession(t *testing.T, name string, kb int, overwrite bool, tid int) *getppidSession {
	t.Helper()
	testenv.Root(t)
	fs, err := ftrace.Open("")
	if err != nil {
		testenv.Missing(t, "tracefs: "+err.Error())
	}
	ev := ftrace.EventName{System: "syscalls", Name: "sys_enter_getppid"}
	f, err := fs.Format(ev.System, ev.Name)
	if err != nil {
		testenv.Missing(t, "the syscalls/sys_enter_getppid event (CONFIG_FTRACE_SYSCALLS): "+err.Error())
	}
	in, err := fs.NewInstance(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Remove(); err != nil {
			t.Error(err)
		}
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(in.SetTracing(false))
	must(in.SetBufferSizeKB(kb))
	must(in.SetClock("mono"))
	must(in.SetOverwrite(overwrite))
	must(in.SetBufferPercent(0))
	filter := filepath.Join(in.Dir, "events", ev.System, ev.Name, "filter")
	must(os.WriteFile(filter, []byte(fmt.Sprintf("common_pid == %d", tid)), 0))
	must(in.Enable(ev, true))
	cpus, err := ftrace.OnlineCPUs()
	must(err)
	return &getppidSession{fs: fs, in: in, id: uint16(f.ID), cpus: cpus}
}

// drain reads every page of cpu's buffer until ErrNoData and returns the
// events of the session's id, the lost events the page headers tell, and
// whether a lost count was not stored. It checks the times never go back.
type drainCount struct {
	events, lost uint64
	unknownLost  bool
	firstMissed  bool // the first page read says events were lost
	pages        int
	lastTS       uint64
	mark         int64 // the time of the last ErrNoData, less 2 ms
}

func (c *drainCount) drain(t *testing.T, rd *ftrace.CPUReader, l ftrace.PageLayout, buf []byte, id uint16) error {
	var pg ftrace.Page
	var rec ftrace.Record
	for {
		t0 := ftrace.MonoNow()
		n, err := rd.ReadPage(buf)
		if err == ftrace.ErrNoData {
			// What the recorder relies on: every event older than
			// this moment, less its 2 ms slack, has been read.
			c.mark = max(c.mark, t0-int64(2*time.Millisecond))
			return nil
		}
		if err != nil {
			return err
		}
		if err := pg.Reset(buf[:n], l); err != nil {
			return err
		}
		c.pages++
		if missed, k := pg.Missed(); missed {
			if c.pages == 1 {
				c.firstMissed = true
			}
			if k == 0 {
				c.unknownLost = true
			}
			c.lost += k
		}
		for pg.Next(&rec) {
			if rec.TS < c.lastTS {
				return fmt.Errorf("cpu %d: time goes back from %d to %d", rd.CPU, c.lastTS, rec.TS)
			}
			c.lastTS = rec.TS
			if int64(rec.TS) < c.mark {
				return fmt.Errorf("cpu %d: event at %d read after ErrNoData said all before %d were read", rd.CPU, rec.TS, c.mark)
			}
			if len(rec.Data) >= 2 && uint16(rec.Data[0])|uint16(rec.Data[1])<<8 == id {
				c.events++
			}
		}
		if err := pg.Err(); err != nil {
			return err
		}
	}
}

// TestCPUReader records a known number of getppid calls while one reader
// per CPU drains its buffer as the recorder does (wait, read until
// ErrNoData), with splice and with read(2) only: every event is read once,
// in time order, none lost.
func TestCPUReader(t *testing.T) {
	for _, mode := range []string{"splice", "read"} {
		t.Run(mode, func(t *testing.T) {
			const calls = 300000
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			s := newGetppidSession(t, "readertest-"+mode, 4096, false, unix.Gettid())
			l := s.fs.PageLayout()
			var rds []*ftrace.CPUReader
			for _, c := range s.cpus {
				open := s.in.OpenCPU
				if mode == "read" {
					open = s.in.OpenCPUReadOnly
				}
				rd, err := open(c)
				if err != nil {
					t.Fatal(err)
				}
				defer rd.Close()
				if got := rd.Splicing(); got != (mode == "splice") {
					t.Fatalf("cpu %d: Splicing() = %v in mode %s", c, got, mode)
				}
				rds = append(rds, rd)
			}
			if err := s.in.SetTracing(true); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			counts := make([]drainCount, len(rds))
			errs := make([]error, len(rds))
			var wg sync.WaitGroup
			for i, rd := range rds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, l.PageSize)
					for {
						select {
						case <-done:
							errs[i] = counts[i].drain(t, rd, l, buf, s.id)
							return
						default:
						}
						if _, err := rd.Wait(20 * time.Millisecond); err != nil {
							errs[i] = err
							return
						}
						if err := counts[i].drain(t, rd, l, buf, s.id); err != nil {
							errs[i] = err
							return
						}
					}
				}()
			}
			for i := 0; i < calls; i++ {
				unix.Getppid()
			}
			if err := s.in.SetTracing(false); err != nil {
				t.Fatal(err)
			}
			close(done)
			wg.Wait()
			var total, lost, dropped uint64
			var pages, splices, reads uint64
			for i, rd := range rds {
				if errs[i] != nil {
					t.Errorf("cpu %d: %v", rd.CPU, errs[i])
				}
				total += counts[i].events
				lost += counts[i].lost
				pages, splices, reads = pages+rd.Pages, splices+rd.Splices, reads+rd.Reads
				st, err := s.in.Stats(rd.CPU)
				if err != nil {
					t.Fatal(err)
				}
				dropped += st.DroppedEvents
				if st.Entries != 0 || st.Overrun != 0 {
					t.Errorf("cpu %d: stats after the drain: %+v", rd.CPU, st)
				}
				if st.ReadEvents != counts[i].events {
					t.Errorf("cpu %d: %d events read, the kernel says %d", rd.CPU, counts[i].events, st.ReadEvents)
				}
			}
			for _, rd := range rds {
				if got := rd.Splicing(); got != (mode == "splice") {
					t.Errorf("cpu %d: Splicing() = %v after the run in mode %s", rd.CPU, got, mode)
				}
			}
			t.Logf("%s: %d events in %d pages (%d dropped by the kernel), %d splices, %d reads", mode, total, pages, dropped, splices, reads)
			if total+dropped != calls || lost != 0 {
				t.Errorf("read %d events + %d dropped = %d (%d lost by the pages), want %d getppid calls", total, dropped, total+dropped, lost, calls)
			}
		})
	}
}

// TestCPUReaderLost fills a small overwrite-mode buffer with nobody
// reading, then drains it, with splice and with read(2) only: the first
// page read says events were lost; the events read plus the kernel's
// overrun are the calls made; the counts the pages stored (when the page
// had room for one) are part of the overrun.
func TestCPUReaderLost(t *testing.T) {
	for _, mode := range []string{"splice", "read"} {
		t.Run(mode, func(t *testing.T) {
			const calls = 200000
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			s := newGetppidSession(t, "losttest-"+mode, 64, true, unix.Gettid())
			var set unix.CPUSet
			set.Set(s.cpus[0])
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				t.Fatal(err)
			}
			if err := s.in.SetTracing(true); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < calls; i++ {
				unix.Getppid()
			}
			if err := s.in.SetTracing(false); err != nil {
				t.Fatal(err)
			}
			open := s.in.OpenCPU
			if mode == "read" {
				open = s.in.OpenCPUReadOnly
			}
			rd, err := open(s.cpus[0])
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			var c drainCount
			l := s.fs.PageLayout()
			if err := c.drain(t, rd, l, make([]byte, l.PageSize), s.id); err != nil {
				t.Fatal(err)
			}
			st, err := s.in.Stats(s.cpus[0])
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d events read, %d lost by the pages, stats %+v", mode, c.events, c.lost, st)
			if !c.firstMissed {
				t.Errorf("the first page does not say events were lost")
			}
			if st.Overrun == 0 {
				t.Fatalf("nothing lost: the buffer was not filled")
			}
			if c.events+st.Overrun != calls {
				t.Errorf("%d read + %d overrun = %d, want %d getppid calls", c.events, st.Overrun, c.events+st.Overrun, calls)
			}
			if c.lost > st.Overrun {
				t.Errorf("pages stored %d lost, more than the kernel's overrun %d", c.lost, st.Overrun)
			}
		})
	}
}

// TestLeaveOut: once the test process is left out, its getppid calls make
// no event, from the threads it had and from a thread started after.
func TestLeaveOut(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	s := newGetppidSession(t, "leaveout", 1024, false, 0)
	// No filter: every process's getppid.
	filter := filepath.Join(s.in.Dir, "events", "syscalls", "sys_enter_getppid", "filter")
	if err := os.WriteFile(filter, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	count := func(calls func()) map[int32]uint64 {
		t.Helper()
		if err := s.in.SetTracing(true); err != nil {
			t.Fatal(err)
		}
		calls()
		if err := s.in.SetTracing(false); err != nil {
			t.Fatal(err)
		}
		l := s.fs.PageLayout()
		buf := make([]byte, l.PageSize)
		by := map[int32]uint64{}
		var pg ftrace.Page
		var rec ftrace.Record
		for _, c := range s.cpus {
			rd, err := s.in.OpenCPU(c)
			if err != nil {
				t.Fatal(err)
			}
			for {
				n, err := rd.ReadPage(buf)
				if err == ftrace.ErrNoData {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if pg.Reset(buf[:n], l) != nil {
					t.Fatal(pg.Err())
				}
				for pg.Next(&rec) {
					if uint16(rec.Data[0])|uint16(rec.Data[1])<<8 == s.id {
						by[int32(uint32(rec.Data[4])|uint32(rec.Data[5])<<8|uint32(rec.Data[6])<<16|uint32(rec.Data[7])<<24)]++
					}
				}
			}
			rd.Close()
		}
		return by
	}
	const calls = 1000
	before := count(func() {
		for i := 0; i < calls; i++ {
			unix.Getppid()
		}
	})
	if before[int32(tid)] != calls {
		t.Fatalf("before LeaveOut: %d events of thread %d, want %d", before[int32(tid)], tid, calls)
	}
	if err := s.in.LeaveOut(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	newTid := 0
	after := count(func() {
		for i := 0; i < calls; i++ {
			unix.Getppid()
		}
		done := make(chan struct{})
		go func() {
			// A goroutine locked to a thread of its own, which the
			// runtime may have to start now.
			runtime.LockOSThread()
			newTid = unix.Gettid()
			for i := 0; i < calls; i++ {
				unix.Getppid()
			}
			close(done)
		}()
		<-done
	})
	if after[int32(tid)] != 0 || after[int32(newTid)] != 0 {
		t.Errorf("after LeaveOut: %d events of thread %d and %d of thread %d, want none", after[int32(tid)], tid, after[int32(newTid)], newTid)
	}
}
