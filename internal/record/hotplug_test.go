package record

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/testenv"
)

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Logf(f string, a ...any) {
	l.mu.Lock()
	fmt.Fprintf(&l.b, f+"\n", a...)
	l.mu.Unlock()
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// babeltrace runs babeltrace2 on a trace and fails on an error or warning.
func babeltrace(t *testing.T, args ...string) string {
	t.Helper()
	bt := testenv.Program(t, "babeltrace2")
	cmd := exec.Command(bt, args...)
	cmd.Env = testenv.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("babeltrace2: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// spin keeps every CPU busy switching for d.
func spin(d time.Duration) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for end := time.Now().Add(d); time.Now().Before(end); {
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
}

// The hotplug watcher ends the stream of a CPU that goes offline and
// starts it again when the CPU comes back, in the same file; a CPU
// tracefs does not have gets no stream. The CPU list is injected: taking
// a real CPU offline would disturb every other test running on the
// machine (TestRealHotplug does it on demand).
func TestHotplugInjected(t *testing.T) {
	testenv.Root(t)
	real, err := ftrace.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(real) < 2 {
		t.Skip("one CPU online: nothing to take offline")
	}
	var cpus atomic.Pointer[[]int]
	cpus.Store(&real)
	out := t.TempDir()
	var log logBuf
	rec, err := New(Config{Session: "test-hotplug", OutputDir: out, NoStatedump: true, Logf: log.Logf,
		Channels: []Channel{{Events: []string{"sched_switch"}, ReadTimer: 50 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	rec.onlineCPUs = func() ([]int, error) { return *cpus.Load(), nil }
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	gone := real[len(real)-1]
	spin(100 * time.Millisecond)
	without := append([]int(nil), real[:len(real)-1]...)
	cpus.Store(&without)
	rec.hotplug(rec.runCtx)
	if rec.chans[0].running(CPU(gone)) {
		t.Fatalf("cpu %d still read after going offline", gone)
	}
	offAt := Now()
	spin(100 * time.Millisecond)
	back := append(append([]int(nil), real...), 63)
	cpus.Store(&back)
	rec.hotplug(rec.runCtx)
	if !rec.chans[0].running(CPU(gone)) {
		t.Fatalf("cpu %d not read after coming back", gone)
	}
	onAt := Now()
	spin(200 * time.Millisecond)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	l := log.String()
	t.Logf("recorder log:\n%s", l)
	for _, w := range []string{fmt.Sprintf("cpu %d offline: stream channel0_%d ends", gone, gone),
		fmt.Sprintf("cpu %d online: stream channel0_%d", gone, gone), "cpu 63: open cpu 63 buffer"} {
		if !strings.Contains(l, w) {
			t.Errorf("log does not say %q", w)
		}
	}
	var names []string
	for _, s := range rec.Stats() {
		names = append(names, fmt.Sprintf("%s_%d", s.Channel, s.CPU))
	}
	if len(names) != len(real) {
		t.Errorf("streams %v, want one per real CPU %v", names, real)
	}
	if _, err := os.Stat(filepath.Join(out, "kernel", "channel0_63")); err == nil {
		t.Error("a stream file for cpu 63")
	}
	// The stream of the CPU that came back goes on in the same file:
	// packets in order, sched_switch events before it went offline and
	// after it came back.
	_, ents, err := index.ReadFile(filepath.Join(out, "kernel", "index", fmt.Sprintf("channel0_%d.idx", gone)))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ents {
		if i > 0 && e.TimestampBegin < ents[i-1].TimestampEnd {
			t.Errorf("packet %d begins at %d before the previous end %d", i, e.TimestampBegin, ents[i-1].TimestampEnd)
		}
	}
	before, after := 0, 0
	re := regexp.MustCompile(fmt.Sprintf(`(?m)^\[(\d+)\] .* sched_switch: \{ cpu_id = %d \}`, gone))
	for _, m := range re.FindAllStringSubmatch(babeltrace(t, "--clock-cycles", filepath.Join(out, "kernel")), -1) {
		ts, _ := strconv.ParseUint(m[1], 10, 64)
		if ts < uint64(offAt) {
			before++
		}
		if ts > uint64(onAt) {
			after++
		}
	}
	t.Logf("cpu %d: %d packets, %d sched_switch before going offline, %d after coming back", gone, len(ents), before, after)
	if before == 0 || after == 0 {
		t.Errorf("cpu %d: %d sched_switch before going offline, %d after coming back", gone, before, after)
	}
}

// With a live timer, idle streams write a beacon packet (no event, the
// time bounds advancing) each period and babeltrace2 reads the result;
// with a live hook (a relay) they write their first packet only and the
// hook is told how far each stream is complete at each period.
func TestLiveBeacons(t *testing.T) {
	testenv.Root(t)
	for _, withHook := range []bool{false, true} {
		t.Run(map[bool]string{false: "packets", true: "hook"}[withHook], func(t *testing.T) {
			out := t.TempDir()
			var mu sync.Mutex
			hook := map[string][]Timestamp{}
			cfg := Config{Session: "test-beacons", OutputDir: out, NoStatedump: true,
				// sched_kthread_stop fires when a kernel thread is stopped: never here.
				Channels: []Channel{{Events: []string{"sched_kthread_stop"}, LiveTimer: 100 * time.Millisecond}}}
			if withHook {
				cfg.Live = func(stream string, c Timestamp) {
					mu.Lock()
					hook[stream] = append(hook[stream], c)
					mu.Unlock()
				}
			}
			rec, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Destroy()
			if err := rec.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(700 * time.Millisecond)
			if err := rec.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := rec.Destroy(); err != nil {
				t.Fatal(err)
			}
			cpus, _ := ftrace.OnlineCPUs()
			for _, c := range cpus {
				name := "channel0_" + strconv.Itoa(c)
				_, ents, err := index.ReadFile(filepath.Join(out, "kernel", "index", name+".idx"))
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				marks := hook[name]
				mu.Unlock()
				t.Logf("%s: %d packets, live hook told %d times", name, len(ents), len(marks))
				switch {
				case !withHook && len(ents) < 4:
					t.Errorf("%s: %d beacon packets in 700 ms with a 100 ms live timer", name, len(ents))
				case withHook && (len(ents) > 2 || len(marks) < 4):
					t.Errorf("%s: %d packets (want at most 2), %d live marks (want 4 or more)", name, len(ents), len(marks))
				}
				for i, e := range ents {
					if e.ContentSize != 8*writer.PacketHeaderSize {
						t.Errorf("%s packet %d holds events: content %d bits", name, i, e.ContentSize)
					}
					if e.TimestampEnd < e.TimestampBegin || i > 0 && e.TimestampBegin < ents[i-1].TimestampEnd {
						t.Errorf("%s packet %d bounds [%d, %d] after [%d, %d]", name, i, e.TimestampBegin, e.TimestampEnd,
							ents[i-1].TimestampBegin, ents[i-1].TimestampEnd)
					}
				}
				if !withHook && ents[len(ents)-1].TimestampEnd <= ents[0].TimestampEnd {
					t.Errorf("%s: beacons do not advance", name)
				}
				for i := 1; i < len(marks); i++ {
					if marks[i] <= marks[i-1] {
						t.Errorf("%s: live mark %d did not advance: %d after %d", name, i, marks[i], marks[i-1])
					}
				}
			}
			if text := babeltrace(t, filepath.Join(out, "kernel")); strings.TrimSpace(text) != "" {
				t.Errorf("babeltrace2 printed events of an idle trace:\n%.2000s", text)
			}
		})
	}
}

// TestRealHotplug takes the last CPU offline for real through sysfs and
// brings it back. It disturbs everything else running on the machine, so
// it runs only with TRACETOP_HOTPLUG=1.
func TestRealHotplug(t *testing.T) {
	testenv.Root(t)
	if os.Getenv("TRACETOP_HOTPLUG") != "1" {
		t.Skip("set TRACETOP_HOTPLUG=1 to take a CPU offline for real")
	}
	cpus, err := ftrace.OnlineCPUs()
	if err != nil || len(cpus) < 2 {
		t.Skipf("online CPUs %v: none to take offline", cpus)
	}
	gone := cpus[len(cpus)-1]
	ctl := fmt.Sprintf("/sys/devices/system/cpu/cpu%d/online", gone)
	out := t.TempDir()
	var log logBuf
	rec, err := New(Config{Session: "test-real-hotplug", OutputDir: out, NoStatedump: true, Logf: log.Logf,
		Channels: []Channel{{Events: []string{"sched_switch"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	spin(100 * time.Millisecond)
	if err := os.WriteFile(ctl, []byte("0"), 0); err != nil {
		t.Skipf("cpu %d cannot go offline: %v", gone, err)
	}
	defer os.WriteFile(ctl, []byte("1"), 0)
	time.Sleep(hotplugPeriod + 300*time.Millisecond)
	if rec.chans[0].running(CPU(gone)) {
		t.Errorf("cpu %d still read while offline", gone)
	}
	if err := os.WriteFile(ctl, []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(hotplugPeriod + 300*time.Millisecond)
	spin(100 * time.Millisecond)
	if !rec.chans[0].running(CPU(gone)) {
		t.Errorf("cpu %d not read after coming back", gone)
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorder log:\n%s", log.String())
	text := babeltrace(t, filepath.Join(out, "kernel"))
	t.Logf("babeltrace2: %d lines", strings.Count(text, "\n"))
}
