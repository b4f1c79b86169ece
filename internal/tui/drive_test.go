package tui

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// t0 is the wall-clock time of the first tick of every test.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// driver runs a Model without a terminal: messages go to Update, and the
// commands it returns run at once, in order, feeding their messages back.
type driver struct {
	t    testing.TB
	m    *Model
	wall time.Time
	quit bool
}

func newDriver(t testing.TB, src Source, opt Options) *driver {
	opt.NoTick = true
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	d := &driver{t: t, m: New(src, opt), wall: t0}
	d.send(d.m.Init())
	d.msg(TickMsg{Now: d.wall})
	return d
}

func (d *driver) send(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	d.msg(cmd())
}

func (d *driver) msg(msg tea.Msg) {
	switch msg := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.send(c)
		}
		return
	case tea.QuitMsg:
		d.quit = true
		return
	}
	if reflect.TypeOf(msg).Name() == "sequenceMsg" {
		d.t.Fatal("driver: tea.Sequence is not supported")
	}
	_, cmd := d.m.Update(msg)
	d.send(cmd)
}

// keys sends key presses: "f2", "left", "enter", " ", or runes ("abc"
// sends a, b, c when it is not a key name).
func (d *driver) keys(ks ...string) {
	for _, k := range ks {
		d.msg(keyMsg(k))
	}
}

func (d *driver) typ(s string) {
	for _, r := range s {
		d.msg(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

var keyTypes = map[string]tea.KeyType{
	"f1": tea.KeyF1, "f2": tea.KeyF2, "f3": tea.KeyF3, "f4": tea.KeyF4, "f5": tea.KeyF5, "f6": tea.KeyF6, "f10": tea.KeyF10,
	"enter": tea.KeyEnter, " ": tea.KeySpace, "left": tea.KeyLeft, "right": tea.KeyRight,
	"up": tea.KeyUp, "down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"home": tea.KeyHome, "end": tea.KeyEnd, "esc": tea.KeyEsc, "tab": tea.KeyTab,
	"backspace": tea.KeyBackspace, "ctrl+c": tea.KeyCtrlC,
}

func keyMsg(k string) tea.KeyMsg {
	if t, ok := keyTypes[k]; ok {
		if t == tea.KeySpace {
			return tea.KeyMsg{Type: t, Runes: []rune{' '}}
		}
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// wait moves the wall clock on by d in ticks of at most 100 ms.
func (d *driver) wait(dur time.Duration) {
	for dur > 0 {
		s := min(dur, 100*time.Millisecond)
		d.wall = d.wall.Add(s)
		dur -= s
		d.msg(TickMsg{Now: d.wall})
	}
}

func (d *driver) resize(w, h int) { d.msg(tea.WindowSizeMsg{Width: w, Height: h}) }

// screen is the view without ANSI sequences.
func (d *driver) screen() string { return ansi.Strip(d.m.View()) }

// checkScreen compares the screen with testdata/NAME.txt, and checks its
// size.
func (d *driver) checkScreen(name string) string {
	d.t.Helper()
	got := d.screen()
	lines := strings.Split(got, "\n")
	if len(lines) != d.m.h {
		d.t.Errorf("%s: %d lines, want %d", name, len(lines), d.m.h)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != d.m.w {
			d.t.Errorf("%s: line %d is %d wide, want %d: %q", name, i, w, d.m.w, l)
		}
	}
	golden(d.t, filepath.Join("testdata", name+".txt"), got)
	return got
}

func golden(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(strings.TrimSuffix(string(want), "\n"), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// body is the screen without the status pane and footer (what time
// travel must give back identically).
func body(s string, m *Model) string {
	lines := strings.Split(s, "\n")
	c, _ := m.layout()
	return strings.Join(lines[:5+c], "\n")
}
