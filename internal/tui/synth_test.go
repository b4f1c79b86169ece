package tui

import (
	"fmt"
	"testing"

	"github.com/tracetop/tracetop/ctf/writer"
)

// synth writes a synthetic LTTng-style kernel trace of a busy machine:
// nproc single-threaded processes (a statedump with their names and two
// open fds each), on ncpu CPUs, each CPU running slices of one sched_switch
// and four read/write syscall pairs, rate events per second in all. It can
// be written in rounds (a live session growing).
type synth struct {
	t       testing.TB
	ncpu    int
	nproc   int
	rate    int // events per second, all CPUs
	streams []*writer.Stream
	sink    *writer.DirSink
	cur     []int32 // tid running on each CPU
	next    int
	cls     map[string]*writer.EventClass
	p       writer.Payload
	events  int
	// Base is the first event time (ns).
	Base uint64
}

func newSynth(t testing.TB, dir string, ncpu, nproc, rate int) *synth {
	s := &synth{t: t, ncpu: ncpu, nproc: nproc, rate: rate, cls: map[string]*writer.EventClass{}, Base: 1_700_000_000_000_000_000}
	uuid := [16]byte{7, 7, 7}
	md := &writer.Metadata{UUID: uuid, ClockUUID: uuid, Env: []writer.EnvValue{{Key: "domain", Str: "kernel"},
		{Key: "tracer_name", Str: "lttng-modules"}, {Key: "tracer_major", Int: 2}, {Key: "tracer_minor", Int: 13}, {Key: "hostname", Str: "synth"}}}
	if err := md.AddStream(writer.StreamClass{ID: 0}); err != nil {
		t.Fatal(err)
	}
	add := func(name string, fs ...writer.Field) {
		c, err := md.Add(&writer.EventClass{Stream: 0, Name: name, Fields: fs})
		if err != nil {
			t.Fatal(err)
		}
		s.cls[name] = c
	}
	add("lttng_statedump_process_state", writer.I32("tid"), writer.I32("vtid"), writer.I32("pid"), writer.I32("vpid"),
		writer.I32("ppid"), writer.I32("vppid"), writer.Comm("name"), writer.I32("type"), writer.I32("mode"),
		writer.I32("submode"), writer.I32("status"), writer.U32("cpu"))
	add("lttng_statedump_file_descriptor", writer.I32("pid"), writer.I32("fd"), writer.U32("flags"), writer.U32("fmode"), writer.Str("filename"))
	add("sched_switch", writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I32("prev_prio"), writer.I64("prev_state"),
		writer.Comm("next_comm"), writer.I32("next_tid"), writer.I32("next_prio"))
	add("syscall_entry_read", writer.U32("fd"), writer.Hex64("buf"), writer.U64("count"))
	add("syscall_exit_read", writer.I64("ret"), writer.Hex64("buf"))
	add("syscall_entry_write", writer.U32("fd"), writer.Hex64("buf"), writer.U64("count"))
	add("syscall_exit_write", writer.I64("ret"))
	sink, err := writer.NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.sink = sink
	if err := sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending())); err != nil {
		t.Fatal(err)
	}
	for c := range ncpu {
		st, err := writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("channel0_%d", c), CPU: uint32(c),
			InstanceID: uint64(c), UUID: uuid, PacketSize: 256 << 10}, sink)
		if err != nil {
			t.Fatal(err)
		}
		s.streams = append(s.streams, st)
		s.cur = append(s.cur, 0)
	}
	// The statedump, on CPU 0.
	ts := s.Base
	for i := range nproc {
		tid := int32(1000 + i)
		s.p.Reset()
		for _, v := range []int32{tid, tid, tid, tid, 1, 1} {
			s.p.I32(v)
		}
		s.p.TextString(s.name(tid), 16)
		for _, v := range []int32{0, 0, 0, 5} {
			s.p.I32(v)
		}
		s.p.U32(0)
		s.emit(0, ts, "lttng_statedump_process_state")
		for fd := int32(3); fd <= 4; fd++ {
			s.p.Reset()
			s.p.I32(tid)
			s.p.I32(fd)
			s.p.U32(0)
			s.p.U32(0)
			s.p.String(fmt.Sprintf("/var/data/%d.%d", tid, fd))
			s.emit(0, ts, "lttng_statedump_file_descriptor")
		}
		ts++
	}
	return s
}

func (s *synth) name(tid int32) string { return fmt.Sprintf("worker-%d", tid) }

func (s *synth) emit(cpu int, ts uint64, class string) {
	if err := s.streams[cpu].Append(ts, s.cls[class].ID, nil, s.p.B); err != nil {
		s.t.Fatal(err)
	}
	s.events++
}

// run writes the events of [from, to[ ns after Base and flushes every
// stream's packet at to.
func (s *synth) run(from, to uint64) {
	// A slice is 9 events on one CPU.
	period := uint64(1e9) * 9 * uint64(s.ncpu) / uint64(s.rate)
	for c := range s.ncpu {
		for ts := s.Base + from + uint64(c)*period/uint64(s.ncpu); ts+period <= s.Base+to; ts += period {
			prev, next := s.cur[c], int32(1000+(s.next*7919)%s.nproc)
			s.next++
			if prev == next {
				next = 1000 + (next-1000+1)%int32(s.nproc)
			}
			s.p.Reset()
			s.p.TextString(s.name(prev), 16)
			s.p.I32(prev)
			s.p.I32(20)
			s.p.I64(1)
			s.p.TextString(s.name(next), 16)
			s.p.I32(next)
			s.p.I32(20)
			s.emit(c, ts, "sched_switch")
			s.cur[c] = next
			step := period / 10
			for k := uint64(1); k <= 4; k++ {
				call, fd := "read", uint32(3)
				if k%2 == 0 {
					call, fd = "write", 4
				}
				s.p.Reset()
				s.p.U32(fd)
				s.p.U64(0x7fff0000)
				s.p.U64(4096)
				s.emit(c, ts+(2*k-1)*step, "syscall_entry_"+call)
				s.p.Reset()
				s.p.I64(int64(100 * k))
				if call == "read" {
					s.p.U64(0x7fff0000)
				}
				s.emit(c, ts+2*k*step, "syscall_exit_"+call)
			}
		}
		if err := s.streams[c].Flush(s.Base + to); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *synth) close(end uint64) {
	for _, st := range s.streams {
		st.Close(s.Base + end)
	}
	s.sink.Close()
}
