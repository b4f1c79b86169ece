package fuse

import (
	"crypto/rand"
	"io"
	"math"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/clocksync"
	"github.com/tracetop/tracetop/internal/vm"
)

type tick struct {
	cpu   uint32
	ts    uint64 // trace clock
	truth int64  // true host trace-clock time
}

// writeTrace writes a kernel-style trace with one event class, tick
// {truth u64}, on two CPUs.
func writeTrace(t *testing.T, dir, hostname string, offsetNS int64, ticks []tick) {
	t.Helper()
	var uuid [16]byte
	rand.Read(uuid[:])
	md := &writer.Metadata{UUID: uuid, ClockOffsetNS: offsetNS, Env: []writer.EnvValue{{Key: "hostname", Str: hostname}, {Key: "domain", Str: "kernel"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	ec, err := md.Add(&writer.EventClass{Name: "tick", Fields: []writer.Field{writer.I64("truth")}})
	if err != nil {
		t.Fatal(err)
	}
	sink, err := writer.NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending()))
	var sts [2]*writer.Stream
	for cpu := range sts {
		sts[cpu], _ = writer.NewStream(writer.StreamConfig{Name: "channel0_" + string(rune('0'+cpu)), CPU: uint32(cpu), InstanceID: uint64(cpu), PacketSize: 16 << 10, UUID: uuid}, sink)
	}
	var p writer.Payload
	var last [2]uint64
	for _, k := range ticks {
		p.Reset()
		p.I64(k.truth)
		if err := sts[k.cpu].Append(k.ts, ec.ID, nil, p.B); err != nil {
			t.Fatal(err)
		}
		last[k.cpu] = k.ts
	}
	for cpu, st := range sts {
		st.Close(last[cpu])
	}
	sink.Close()
}

// TestFusedOrder builds a host trace and a guest trace whose clocks differ
// by a known offset and drift, with sync samples drawn from the same
// truth, and checks that the fused source puts every guest event within
// its bound of the truth and orders events of both machines as the truth
// does whenever they are farther apart than the bound.
func TestFusedOrder(t *testing.T) {
	const (
		a       = 1 + 40e-6 // guest clock runs 40 ppm slow
		b       = 12.345678e9
		hostOff = 1_700_000_000_000_000_000
	)
	H := func(g int64) float64 { return a*float64(g) + b }
	G := func(h float64) int64 { return int64(math.Ceil((h - b) / a)) }
	rng := mrand.New(mrand.NewPCG(9, 9))
	dir := t.TempDir()

	var host, guest []tick
	for h := int64(20e9); h < 23e9; h += 700e3 {
		host = append(host, tick{uint32(h/700e3) % 2, uint64(h), h})
	}
	for g := G(20e9); H(g) < 23e9; g += 900e3 {
		guest = append(guest, tick{uint32(g/900e3) % 2, uint64(g), int64(math.Round(H(g)))})
	}
	writeTrace(t, filepath.Join(dir, "kernel"), "thehost", hostOff, host)
	gdir := filepath.Join(dir, "guests", "g1")
	writeTrace(t, filepath.Join(gdir, "kernel"), "guest-one", hostOff-3_000_000_000, guest)

	// Exchanges: a burst at attach, then 10 every 500 ms.
	var samples []clocksync.Sample
	seq := uint32(0)
	ping := func(h float64) {
		seq++
		t1 := int64(h)
		t2 := G(h + 80e3 + rng.ExpFloat64()*150e3)
		t3 := t2 + 8e3
		t4 := int64(math.Ceil(H(t3) + 80e3 + rng.ExpFloat64()*150e3))
		samples = append(samples, clocksync.Sample{Seq: seq, T1: t1, T2: t2, T3: t3, T4: t4})
	}
	for i := range 200 {
		ping(20e9 + float64(i)*2e6)
	}
	for h := 20.5e9; h < 23e9; h += 500e6 {
		for i := range 10 {
			ping(h + float64(i)*2e6)
		}
	}
	if err := vm.WriteSyncFile(gdir, &vm.SyncFile{Name: "g1", Hostname: "guest-one", Tier: "C", Samples: samples}); err != nil {
		t.Fatal(err)
	}

	if !HasGuests(dir) {
		t.Fatal("HasGuests false")
	}
	src, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	gs := src.Guests()
	if len(gs) != 1 || gs[0].Quality != clocksync.QualityAccurate || gs[0].Segments != 1 {
		t.Fatalf("guests: %+v", gs)
	}
	var ev ctf.Event
	var n, ng, bad int
	maxTruth := int64(0)
	var maxBound, sumErr time.Duration
	var lastNS int64
	var maxTruthBound time.Duration
	for {
		if err := src.Read(&ev); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		truth := ev.Field(meta.ScopeEventPayload, 0).Int()
		name, bound := src.LastBound()
		if ev.NS < lastNS {
			t.Fatalf("event %d at %d before the previous one at %d", n, ev.NS, lastNS)
		}
		lastNS = ev.NS
		if name != "" {
			ng++
			if h := ev.Stream.Trace.Hostname; h != "guest-one" {
				t.Fatalf("guest event of trace %q", h)
			}
			e := time.Duration(math.Abs(float64(ev.NS - hostOff - truth)))
			if e > bound+1 {
				t.Fatalf("guest event %d mapped %v from the truth, beyond its bound %v", n, e, bound)
			}
			sumErr += e
			maxBound = max(maxBound, bound)
		} else if ev.NS != hostOff+truth {
			t.Fatalf("host event moved: %d, want %d", ev.NS, hostOff+truth)
		}
		// Out of order: an event truly earlier than one already read by
		// more than both their bounds.
		if truth < maxTruth-int64(maxTruthBound+bound)-1 {
			bad++
			t.Errorf("event %d (%q, truth %d ±%v) after truth %d ±%v", n, name, truth, bound, maxTruth, maxTruthBound)
		}
		if truth > maxTruth {
			maxTruth, maxTruthBound = truth, bound
		}
	}
	if n != len(host)+len(guest) || ng != len(guest) || bad != 0 {
		t.Fatalf("read %d events (%d guest), want %d (%d); %d out of order beyond the bound", n, ng, len(host)+len(guest), len(guest), bad)
	}
	t.Logf("%d host + %d guest events; bound ±%v (fit centre ±%v), mean error %v", len(host), ng, maxBound, gs[0].Bound, sumErr/time.Duration(ng))
}
