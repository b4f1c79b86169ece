package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDefaultScreen(t *testing.T) {
	d := newDriver(t, newFake(12), Options{})
	if got := d.screen(); !strings.Contains(got, "Statistics for interval [gathering data...[") {
		t.Errorf("before the first interval:\n%s", got)
	}
	d.wait(3 * time.Second)
	s := d.checkScreen("cpu-80x24")
	for _, want := range []string{"Statistics for interval [22:13:22.000000000, 22:13:23.000000000[",
		"REPLAY ×1", FooterText(), "CPU(%)"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
}

func TestViews(t *testing.T) {
	tests := []struct {
		name string
		keys []string
	}{
		{"perftop", []string{"f3"}},
		{"perftop-alias", []string{"P"}},
		{"iotop", []string{"f4"}},
		{"iotop-files", []string{"O", "tab"}},
		{"details", []string{"down", "down", "enter"}},
		{"details-scrolled", []string{"down", "down", "enter", "down", "pgdown", "end"}},
		{"help", []string{"?"}},
		{"pref", []string{"r", "down", " ", "down", "down", "s"}},
		{"processes", []string{"t"}},
		{"vpid", []string{"v"}},
		{"vmtop-none", []string{"f5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, newFake(12), Options{})
			d.wait(6 * time.Second)
			d.keys(tc.keys...)
			name := tc.name
			if name == "perftop-alias" {
				name = "perftop"
			}
			d.checkScreen(name)
		})
	}
}

// TestVMView: F5 lists the VMs by host CPU with guest, overhead and steal
// shares; the cursor picks one, Enter shows its vCPUs, Enter again goes
// back; the process tables' keys do nothing there.
func TestVMView(t *testing.T) {
	src := newFake(12)
	src.vms = true
	d := newDriver(t, src, Options{})
	d.wait(6 * time.Second)
	d.keys("f5")
	s := d.checkScreen("vmtop")
	for _, want := range []string{"95.00   80.00   15.00    5.00     2     4000  qemu-system-x86", "7.00    5.00    2.00    1.00     1     5000  qemu-kvm"} {
		if !strings.Contains(s, want) {
			t.Errorf("VM list lacks %q", want)
		}
	}
	d.keys("down", "enter")
	s = d.checkScreen("vmtop-vcpus-kvm")
	if !strings.Contains(s, "vCPUs of qemu-kvm (pid 5000)") {
		t.Errorf("Enter on the second VM:\n%s", s)
	}
	d.keys("enter", "up", "r", "t", "enter")
	s = d.checkScreen("vmtop-vcpus")
	for _, want := range []string{"vCPUs of qemu-system-x86 (pid 4000)", "0     4003    60.00      10.00     30.00        1"} {
		if !strings.Contains(s, want) {
			t.Errorf("vCPUs lack %q:\n%s", want, s)
		}
	}
	// Many vCPUs scroll.
	d.keys("enter", "down", "down", "enter", "end")
	s = d.checkScreen("vmtop-vcpus-scrolled")
	if !strings.Contains(s, "vCPUs of qemu-big") || !strings.Contains(s, " 15     6025 ") || strings.Contains(s, " 0     6010 ") {
		t.Errorf("the last vCPUs after End:\n%s", s)
	}
	d.keys("home")
	if s := d.screen(); !strings.Contains(s, " 0     6010 ") {
		t.Errorf("the first vCPU after Home:\n%s", s)
	}
	// The selection follows the VM into the next intervals.
	d.keys("enter", "up")
	d.msg(keyMsg("p"))
	d.keys("right")
	if s := d.screen(); !strings.Contains(s, ">    7.00    5.00") {
		t.Errorf("selection lost after moving on:\n%s", s)
	}
}

// TestHelpFromKeyTable: every binding of the key table is on the help
// screen, so the help cannot drift from the keys.
func TestHelpFromKeyTable(t *testing.T) {
	d := newDriver(t, newFake(3), Options{Height: 60})
	d.keys("f1")
	s := d.screen()
	for _, b := range bindings {
		if !strings.Contains(s, b.help) {
			t.Errorf("help lacks %q", b.help)
		}
	}
	d.keys("x") // any key closes it
	if strings.Contains(d.screen(), bindings[0].help) {
		t.Error("help still shown after a key")
	}
}

func TestTimeTravel(t *testing.T) {
	src := newFake(12)
	d := newDriver(t, src, Options{})
	d.wait(6 * time.Second)
	at6 := d.screen()
	d.keys("left")
	if d.m.Mode() != "PAUSED at 22:13:25.000000000" {
		t.Errorf("after Left: mode %q", d.m.Mode())
	}
	at5 := d.screen()
	if !strings.Contains(at5, "Going back in time") || !strings.Contains(at5, "Pause") {
		t.Errorf("status after Left:\n%s", at5)
	}
	d.keys("left", "left")
	d.wait(3 * time.Second) // paused: the replay clock waits
	d.keys("right", "right")
	if got := d.screen(); body(got, d.m) != body(at5, d.m) {
		t.Errorf("back and forth differ:\n%s\nwant:\n%s", got, at5)
	}
	if !strings.Contains(d.screen(), "Going forward in time") {
		t.Error("no 'Going forward in time'")
	}
	d.keys("right")
	if got := d.screen(); body(got, d.m) != body(at6, d.m)[:0]+body(got, d.m) || !strings.Contains(got, "22:13:26.000000000[") {
		t.Errorf("Right again:\n%s", got)
	}
	// Resume plays on from the shown time.
	d.keys("p")
	if d.m.Mode() != "REPLAY ×1" {
		t.Errorf("after p: %q", d.m.Mode())
	}
	d.wait(time.Second)
	if !strings.Contains(d.screen(), "22:13:27.000000000[") {
		t.Errorf("after resume and 1 s:\n%s", d.screen())
	}
	// Right while playing moves forward by hand.
	d.keys("right")
	s := d.screen()
	if !strings.Contains(s, "Manually moving forward") || !strings.Contains(s, "22:13:28.000000000[") {
		t.Errorf("Right while playing:\n%s", s)
	}
	d.checkScreen("time-travel")
}

func TestEndOfTrace(t *testing.T) {
	d := newDriver(t, newFake(4), Options{Speed: 10})
	d.wait(3 * time.Second)
	if !strings.Contains(d.screen(), "End of trace") || !strings.HasPrefix(d.m.Mode(), "PAUSED") {
		t.Errorf("after the end:\n%s", d.screen())
	}
	if !strings.Contains(d.screen(), "22:13:40.000000001[") {
		t.Errorf("last interval not shown:\n%s", d.screen())
	}
}

func TestGotoIntervalSpeed(t *testing.T) {
	src := newFake(12)
	d := newDriver(t, src, Options{})
	d.wait(2 * time.Second)
	d.keys("g")
	d.typ("22:13:30.5")
	if !strings.Contains(d.screen(), "Go to time") {
		t.Errorf("no prompt:\n%s", d.screen())
	}
	d.keys("enter")
	if !strings.Contains(d.screen(), "[22:13:30.500000000, 22:13:31.500000000[") {
		t.Errorf("after g:\n%s", d.screen())
	}
	d.keys("g")
	d.typ("+5s")
	d.keys("enter")
	if !strings.Contains(d.screen(), "[22:13:25.000000000, 22:13:26.000000000[") {
		t.Errorf("after g +5s:\n%s", d.screen())
	}
	n := src.frames
	d.keys("i")
	d.typ("100ms")
	d.keys("enter")
	if !strings.Contains(d.screen(), "[22:13:25.900000000, 22:13:26.000000000[") || src.frames != n+1 {
		t.Errorf("after i 100ms (%d frames computed):\n%s", src.frames-n, d.screen())
	}
	d.keys("i")
	d.typ("1h")
	d.keys("enter")
	if !strings.Contains(d.screen(), "between 10ms and 10m") {
		t.Errorf("1h accepted:\n%s", d.screen())
	}
	d.keys("i")
	d.typ("1s")
	d.keys("enter", "p", "x")
	if d.m.Mode() != "REPLAY ×2" {
		t.Errorf("after x: %q", d.m.Mode())
	}
	d.wait(time.Second)
	if !strings.Contains(d.screen(), "22:13:28.000000000[") {
		t.Errorf("×2 for 1 s from 26 s:\n%s", d.screen())
	}
	d.keys("}")
	if !strings.Contains(d.screen(), "22:13:40.000000001[") {
		t.Errorf("} on a recorded trace:\n%s", d.screen())
	}
}

func TestSelectionFollowsProcess(t *testing.T) {
	d := newDriver(t, newFake(12), Options{})
	d.wait(5 * time.Second)
	d.keys("down", "down", "down") // bash
	if got := d.m.selTask(); got == nil || got.Name != "bash" {
		t.Fatalf("selected %+v", got)
	}
	row := d.m.cur
	d.wait(time.Second) // cc1plus is born and goes to the top
	if got := d.m.selTask(); got == nil || got.Name != "bash" || d.m.cur != row+1 {
		t.Errorf("after the birth: selected %+v at row %d (was %d)", got, d.m.cur, row)
	}
	if !strings.Contains(d.screen(), ">  ") {
		t.Errorf("no cursor:\n%s", d.screen())
	}
}

func TestBornDeadMarked(t *testing.T) {
	d := newDriver(t, newFake(12), Options{})
	d.wait(6 * time.Second)
	if !strings.Contains(d.screen(), "+   cc1plus") {
		t.Errorf("born not marked:\n%s", d.screen())
	}
	d.wait(2 * time.Second)
	if !strings.Contains(d.screen(), "-   cc1plus") {
		t.Errorf("dead not listed and marked:\n%s", d.screen())
	}
}

func TestFilters(t *testing.T) {
	d := newDriver(t, newFake(12), Options{Height: 40})
	d.wait(6 * time.Second)
	all := len(d.m.rows)
	d.keys("/")
	d.typ("make")
	d.keys("enter")
	if got := d.m.selTask(); got == nil || got.Name != "make" {
		t.Fatalf("search selected %+v", got)
	}
	d.keys(" ", "f")
	if len(d.m.rows) != 2 || !strings.Contains(d.screen(), ">* ") { // make and its thread
		t.Errorf("highlighted only: %d rows\n%s", len(d.m.rows), d.screen())
	}
	d.keys("f", "F")
	if len(d.m.rows) != 2 { // make and its thread
		t.Errorf("process only: %d rows", len(d.m.rows))
	}
	d.keys("F")
	if len(d.m.rows) != 3 { // + cc1plus
		t.Errorf("process and children: %d rows", len(d.m.rows))
	}
	d.checkScreen("filter-children")
	d.keys("F")
	if len(d.m.rows) != all {
		t.Errorf("no filter: %d rows, want %d", len(d.m.rows), all)
	}
	d.keys("\\")
	d.typ("k")
	d.keys("enter")
	for _, r := range d.m.rows {
		if !strings.Contains(r.t.Name, "k") {
			t.Errorf("name filter kept %q", r.t.Name)
		}
	}
	d.keys("\\", "backspace", "enter", "home")
	for d.m.selTask().Container != "c1" {
		d.keys("down")
	}
	d.keys("N")
	for _, r := range d.m.rows {
		if r.t.Container != "c1" {
			t.Errorf("container filter kept %+v", r.t)
		}
	}
	d.keys("N", "N")
	if len(d.m.rows) != all {
		t.Errorf("no container filter: %d rows, want %d", len(d.m.rows), all)
	}
}

func TestOptionFilters(t *testing.T) {
	d := newDriver(t, newFake(12), Options{PIDs: []int32{130}, Children: true})
	d.wait(6 * time.Second)
	for _, r := range d.m.rows {
		if r.t.PID != 130 && r.t.PPID != 130 && r.t.PPID != 140 {
			t.Errorf("-p 130 -f kept %+v", r.t)
		}
	}
	if len(d.m.rows) < 9 {
		t.Errorf("-p 130 -f: %d rows", len(d.m.rows))
	}
	d = newDriver(t, newFake(12), Options{Names: []string{"sshd"}})
	d.wait(6 * time.Second)
	if len(d.m.rows) != 1 {
		t.Errorf("-n sshd: %d rows", len(d.m.rows))
	}
}

func TestSort(t *testing.T) {
	d := newDriver(t, newFake(12), Options{})
	d.wait(3 * time.Second)
	d.keys(">") // PID
	for i := 1; i < len(d.m.rows); i++ {
		if d.m.rows[i-1].t.PID < d.m.rows[i].t.PID {
			t.Fatalf("not sorted by PID descending")
		}
	}
	d.keys("I")
	for i := 1; i < len(d.m.rows); i++ {
		if d.m.rows[i-1].t.PID > d.m.rows[i].t.PID {
			t.Fatalf("not inverted")
		}
	}
	d.keys("<", "<") // back over CPU(%) to NAME (wraps)
	for i := 1; i < len(d.m.rows); i++ {
		if d.m.rows[i-1].t.Name > d.m.rows[i].t.Name {
			t.Fatalf("not sorted by name: %q > %q", d.m.rows[i-1].t.Name, d.m.rows[i].t.Name)
		}
	}
	if !strings.Contains(d.screen(), "NAMEv") {
		t.Errorf("sort column not marked:\n%s", d.screen())
	}
}

func TestResize(t *testing.T) {
	d := newDriver(t, newFake(40), Options{})
	d.wait(3 * time.Second)
	d.keys("end")
	for _, sz := range [][2]int{{132, 43}, {80, 24}, {40, 12}, {200, 60}, {80, 24}} {
		d.resize(sz[0], sz[1])
		s := d.screen()
		lines := strings.Split(s, "\n")
		if len(lines) != sz[1] {
			t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		if !strings.Contains(s, ">") {
			t.Errorf("%dx%d: the selected line is not visible:\n%s", sz[0], sz[1], s)
		}
	}
	d.checkScreen("resized-80x24-end")
	d.resize(30, 8)
	if !strings.Contains(d.screen(), "needs at least") {
		t.Errorf("too small: %q", d.screen())
	}
}

func TestLiveModes(t *testing.T) {
	src := newFake(5)
	src.live, src.done, src.lost = true, false, 1234
	d := newDriver(t, src, Options{})
	if d.m.Mode() != "LIVE" {
		t.Errorf("mode %q", d.m.Mode())
	}
	s := d.screen()
	if !strings.Contains(s, "22:13:40.000000000[") || !strings.Contains(s, "Lost: 1234 events") {
		t.Errorf("live starts at the edge:\n%s", s)
	}
	d.keys("p")
	src.last += int64(3 * time.Second)
	d.wait(time.Second)
	if !strings.Contains(d.screen(), "22:13:40.000000000[") || d.m.Mode() != "PAUSED at 22:13:40.000000000" {
		t.Errorf("paused live moved:\n%s", d.screen())
	}
	d.keys("}")
	if !strings.Contains(d.screen(), "22:13:43.000000000[") || d.m.Mode() != "LIVE" {
		t.Errorf("} did not go to the edge:\n%s", d.screen())
	}
	d.keys("x")
	if !strings.Contains(d.screen(), "recorded traces") {
		t.Errorf("x live:\n%s", d.screen())
	}
}

func TestQuit(t *testing.T) {
	for _, k := range []string{"q", "f10", "ctrl+c"} {
		d := newDriver(t, newFake(3), Options{})
		d.keys(k)
		if !d.quit {
			t.Errorf("%s does not quit", k)
		}
	}
}

// TestCursorStaysOnTopUntilPicked: before the user picks a row, the cursor
// stays on the first row, the busiest, whatever process that is from one
// interval to the next (a first interval where every process is at 0 %
// must not pin the cursor, and the scroll, to an idle process); once the
// user moves it, it follows the process picked.
func TestCursorStaysOnTopUntilPicked(t *testing.T) {
	m := New(newFake(3), Options{NoTick: true, Width: 100, Height: 12})
	frame := func(cpu ...int64) *Frame {
		f := &Frame{Start: 0, End: int64(time.Second), CPUs: 2}
		for i, c := range cpu {
			f.Tasks = append(f.Tasks, Task{TID: TID(100 + i), PID: PID(100 + i), Name: fmt.Sprintf("p%d", i), CPU: c, State: 'S'})
		}
		return f
	}
	idle := make([]int64, 30) // more rows than the screen shows
	m.setFrame(frame(idle...))
	busy := append([]int64(nil), idle...)
	busy[25] = 5e8
	m.setFrame(frame(busy...))
	if r := m.rows[m.cur]; m.cur != 0 || m.top != 0 || r.key != 125 {
		t.Fatalf("cursor on row %d (key %d), top %d: want the busy process 125 on the first row", m.cur, r.key, m.top)
	}
	m.move(1) // the user picks the second row
	picked := m.rows[m.cur].key
	again := append([]int64(nil), idle...)
	again[picked-100] = 9e8
	m.setFrame(frame(again...))
	if r := m.rows[m.cur]; r.key != picked {
		t.Errorf("cursor on %d after the picked process %d moved to the top", r.key, picked)
	}
}
