package fuse

import (
	"crypto/rand"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/writer"
)

// TestVMFigures: a host trace with two vCPU threads and one QEMU I/O
// thread whose on-CPU, preempted and blocked times are known.
func TestVMFigures(t *testing.T) {
	dir := t.TempDir()
	var uuid [16]byte
	rand.Read(uuid[:])
	md := &writer.Metadata{UUID: uuid, Env: []writer.EnvValue{{Key: "hostname", Str: "h"}, {Key: "domain", Str: "kernel"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	sw, _ := md.Add(&writer.EventClass{Name: "sched_switch", Fields: []writer.Field{writer.I32("prev_tid"), writer.I64("prev_state"), writer.I32("next_tid")}})
	wk, _ := md.Add(&writer.EventClass{Name: "sched_wakeup", Fields: []writer.Field{writer.I32("tid")}})
	sd, _ := md.Add(&writer.EventClass{Name: "lttng_statedump_process_state", Fields: []writer.Field{writer.I32("tid"), writer.I32("pid")}})
	sink, _ := writer.NewDirSink(filepath.Join(dir, "kernel"))
	sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending()))
	var st [2]*writer.Stream
	for c := range st {
		st[c], _ = writer.NewStream(writer.StreamConfig{Name: "channel0_" + string(rune('0'+c)), CPU: uint32(c), InstanceID: uint64(c), PacketSize: 8192, UUID: uuid}, sink)
	}
	var p writer.Payload
	ms := func(v float64) uint64 { return uint64(v * 1e6) }
	swi := func(c int, at float64, prev int32, state int64, next int32) {
		p.Reset()
		p.I32(prev)
		p.I64(state)
		p.I32(next)
		st[c].Append(ms(at), sw.ID, nil, p.B)
	}
	st[1].Append(ms(999), sd.ID, nil, []byte{100, 0, 0, 0, 100, 0, 0, 0}) // tid 100 of pid 100
	swi(0, 1000, 0, 0, 101)
	swi(1, 1000, 0, 0, 102)
	swi(0, 1300, 101, 0, 999) // vCPU 0 preempted
	swi(0, 1400, 999, 0, 101)
	swi(1, 1500, 102, 1, 100) // vCPU 1 blocks for good; I/O thread runs
	swi(0, 1600, 101, 1, 0)   // vCPU 0 blocks
	swi(1, 1700, 100, 1, 0)
	p.Reset()
	p.I32(101)
	st[0].Append(ms(1800), wk.ID, nil, p.B) // woken: runnable, waiting
	swi(0, 1850, 0, 0, 101)
	swi(1, 2000, 0, 0, 0)
	st[0].Close(ms(2000))
	st[1].Close(ms(2000))
	sink.Close()

	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// ns on the source axis = clock offset + trace clock.
	c := src.Traces()[0].Meta.Clocks[0]
	off := c.OffsetS*1e9 + c.Offset
	figs, err := Figures(src, []VMThreads{{Name: "vm1", PID: 100, VCPUs: map[int]int{101: 0, 102: 1}}}, off+int64(ms(1000)), 0)
	if err != nil {
		t.Fatal(err)
	}
	f := figs[0]
	d := func(v float64) time.Duration { return time.Duration(v * 1e6) }
	want := []VCPUFigures{{Index: 0, TID: 101, OnCPU: d(650), Preempted: d(150), Blocked: d(200)}, {Index: 1, TID: 102, OnCPU: d(500), Blocked: d(500)}}
	if len(f.VCPUs) != 2 || f.VCPUs[0] != want[0] || f.VCPUs[1] != want[1] {
		t.Fatalf("vCPUs %+v, want %+v", f.VCPUs, want)
	}
	if f.Window != d(1000) || f.OnCPU != d(1350) || math.Abs(f.HostCPU-135) > 1e-9 || math.Abs(f.Steal-7.5) > 1e-9 {
		t.Fatalf("figures %+v: want window 1 s, on CPU 1.35 s, host CPU 135 %%, steal 7.5 %%", f)
	}
}
