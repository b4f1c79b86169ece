package analysis_test

import (
	"fmt"
	"testing"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/analysis"
)

// TestNumCPUFromStreams writes a 3-CPU trace where CPU 1 never has an event
// (only an empty packet, as a live tracer's idle stream) and CPU 2 is
// plugged in at 40 ms and out at 70 ms (its stream starts late and ends
// early): every window counts 3 CPUs, the online ones follow the hotplug.
func TestNumCPUFromStreams(t *testing.T) {
	dir := t.TempDir()
	uuid := [16]byte{9}
	md := &writer.Metadata{UUID: uuid, ClockUUID: uuid, Env: []writer.EnvValue{{Key: "domain", Str: "kernel"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	sw, err := md.Add(&writer.EventClass{Stream: 0, Name: "sched_switch", Fields: []writer.Field{
		writer.Comm("prev_comm"), writer.I32("prev_tid"), writer.I32("prev_prio"), writer.I64("prev_state"),
		writer.Comm("next_comm"), writer.I32("next_tid"), writer.I32("next_prio")}})
	if err != nil {
		t.Fatal(err)
	}
	sink, _ := writer.NewDirSink(dir)
	sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending()))
	const ms = uint64(1e6)
	base := uint64(1e18)
	var p writer.Payload
	stream := func(cpu int, from, to uint64, events bool) {
		st, err := writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("chan_%d", cpu), CPU: uint32(cpu), InstanceID: uint64(cpu), UUID: uuid}, sink)
		if err != nil {
			t.Fatal(err)
		}
		if events {
			for ts := from; ts < to; ts += ms {
				p.Reset()
				p.TextString("a", 16)
				p.I32(int32(100 + cpu))
				p.I32(20)
				p.I64(0)
				p.TextString("b", 16)
				p.I32(int32(200 + cpu))
				p.I32(20)
				st.Append(base+ts, sw.ID, nil, p.B)
			}
		} else {
			st.Beacon(base + from)
			st.Beacon(base + to)
		}
		st.Close(base + to)
	}
	stream(0, 0, 100*ms, true)
	stream(1, 0, 100*ms, false)
	stream(2, 40*ms, 70*ms, true)
	sink.Close()
	src, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []string
	err = analysis.Intervals(src, analysis.Window{Step: int64(10 * ms)}, func(f *analysis.Figures) error {
		got = append(got, fmt.Sprintf("%d/%d", f.OnlineCPUs, f.NumCPU))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[2/3 2/3 2/3 2/3 3/3 3/3 3/3 3/3 2/3 2/3]"
	if fmt.Sprint(got) != want {
		t.Errorf("online/known CPUs per 10 ms window: %v, want %s", got, want)
	}
}
