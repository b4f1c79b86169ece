package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Options configure the top.
type Options struct {
	// Interval is the length of an interval (default 1 s).
	Interval time.Duration
	// Speed is the replay speed of a recorded trace (default 1).
	Speed float64
	// Begin is the time to start from, in ns from the clock's origin
	// (0: the start of the trace).
	Begin int64
	// BeginAt is Begin as the user typed it: hh:mm:ss[.ns] on the day of
	// the first event, or +offset from it (resolved once the trace's first
	// event is known).
	BeginAt string
	// PIDs and Names restrict the tables to these processes (-p, -n);
	// Children adds their descendants (-f).
	PIDs     []int32
	Names    []string
	Children bool
	// Location is the time zone of the times shown (default: local).
	Location *time.Location
	// Width and Height are the screen size before the terminal says it
	// (tests).
	Width, Height int
	// NoTick disables the refresh timer: the caller sends TickMsg itself
	// (tests, benchmarks).
	NoTick bool
}

// Interval bounds, as the `i` key accepts them.
const (
	MinInterval = 10 * time.Millisecond
	MaxInterval = 10 * time.Minute
)

var speeds = []float64{1, 2, 5, 10, 100, 0.5}

type viewID int

const (
	viewCPU viewID = iota
	viewPerf
	viewIO
	viewDetails
	viewVM
)

// TickMsg drives the clock of the top: each one makes it look whether a
// newer interval is complete. Now is the wall-clock time of the tick.
type TickMsg struct{ Now time.Time }

// frameMsg carries a computed interval back to Update.
type frameMsg struct {
	t1, t2  int64
	frame   *Frame
	details *Details
	dtid    TID
	err     error
}

type detailsMsg struct {
	t1, t2 int64
	tid    TID
	d      *Details
	err    error
}

type promptKind int

const (
	promptGoto promptKind = iota + 1
	promptInterval
	promptName
	promptSearch
)

type prompt struct {
	kind  promptKind
	label string
	text  []rune
}

// Model is the top's bubbletea model. It can be driven without a terminal:
// send it key messages and TickMsg, and read View().
type Model struct {
	opt Options
	src Source
	mu  *sync.Mutex // serialises Frame and Details calls
	w   int
	h   int

	view, back viewID
	// The VM view's selection (a VMM pid, kept across intervals) and
	// whether its vCPUs are shown.
	vmSel   PID
	vmCur   int
	vmVCPUs bool
	vmOff   int // first vCPU row shown (many vCPUs scroll)
	help    bool
	pref    bool
	prefRow int
	ioFiles bool
	threads bool

	// Time. Intervals are [end-length, end[ with end on a grid of step
	// from origin while following; Left/Right move by one length.
	length   int64
	speed    float64
	paused   bool
	origin   int64
	started  bool  // the replay clock is anchored
	playAt   int64 // trace time of the replay clock at playWall
	playWall time.Time
	now      time.Time
	ended    bool

	want     [2]int64 // the interval wanted (displayed or on its way)
	inflight bool
	queued   bool

	frame   *Frame
	details *Details
	dwant   TID
	st      Status
	err     error

	tables  [nTables]viewState
	rows    []row
	sel     int64
	haveSel bool
	// picked says the user chose the selection (moved the cursor,
	// searched, opened the details): it then follows that process. Until
	// then the cursor stays on the first row, the busiest.
	picked  bool
	cur     int
	top     int
	hl      map[TID]bool
	parent  map[PID]PID
	pidName map[PID]string

	onlyHL     bool
	procMode   int
	procPID    PID
	contMode   int
	cont       string
	nameFilter string
	search     string
	vpid       bool

	optPIDs     map[PID]bool
	optNames    map[string]bool
	optChildren bool

	prompt *prompt
	msgs   []string
	quit   bool

	// dscroll is the first line of the details view shown (it scrolls
	// with the arrows, PgUp/PgDn, Home/End).
	dscroll int
}

// scroll moves the first line shown, off, by a line, a page or to an
// end, within [0, last].
func scroll(off *int, act action, page, last int) {
	switch act {
	case actUp:
		*off--
	case actDown:
		*off++
	case actPageUp:
		*off -= page
	case actPageDown:
		*off += page
	case actHome:
		*off = 0
	case actEnd:
		*off = last
	}
	*off = max(min(*off, last), 0)
}

// scrollDetails moves the details view by a line, a page or to an end.
func (m *Model) scrollDetails(act action) {
	scroll(&m.dscroll, act, max(m.detailsRows()-1, 1), max(len(m.detailLines())-m.detailsRows(), 0))
}

// detailsRows is how many lines of the details view fit.
func (m *Model) detailsRows() int {
	c, _ := m.layout()
	return max(c-2, 1)
}

// New returns the top on a source.
func New(src Source, opt Options) *Model {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Speed <= 0 {
		opt.Speed = 1
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Width <= 0 {
		opt.Width = 80
	}
	if opt.Height <= 0 {
		opt.Height = 24
	}
	m := &Model{
		opt: opt, src: src, mu: new(sync.Mutex),
		w: opt.Width, h: opt.Height,
		threads: true,
		length:  int64(opt.Interval),
		speed:   opt.Speed,
		hl:      map[TID]bool{},
		optPIDs: map[PID]bool{}, optNames: map[string]bool{}, optChildren: opt.Children,
	}
	for _, p := range opt.PIDs {
		m.optPIDs[PID(p)] = true
	}
	for _, n := range opt.Names {
		m.optNames[n] = true
	}
	for i := range m.tables {
		m.tables[i].hidden = map[string]bool{}
	}
	m.log("Starting display")
	return m
}

// Init starts the clock.
func (m *Model) Init() tea.Cmd {
	if m.opt.NoTick {
		return nil
	}
	return func() tea.Msg { return TickMsg{Now: time.Now()} }
}

// refresh is how often the top looks for a new interval: one step of the
// grid at the replay speed, within [50 ms, 1 s].
func (m *Model) refresh() time.Duration {
	d := time.Duration(float64(m.step()) / m.speed)
	if m.st.Live {
		// Half a step: a new slot is shown at most half a step late.
		d = time.Duration(m.step() / 2)
	}
	return min(max(d, 50*time.Millisecond), time.Second)
}

// step is the grid the shown interval's end moves on while following:
// the interval, at most one second, so a long interval still slides; a
// live source's own step when it has one (the newest interval ends at
// the newest complete slot).
func (m *Model) step() int64 {
	if m.st.Live && m.st.Step > 0 {
		return min(m.length, int64(m.st.Step))
	}
	return min(m.length, int64(time.Second))
}

func (m *Model) tick() tea.Cmd {
	if m.opt.NoTick || m.quit {
		return nil
	}
	return tea.Tick(m.refresh(), func(t time.Time) tea.Msg { return TickMsg{Now: t} })
}

func (m *Model) log(s string) {
	m.msgs = append(m.msgs, s)
	if len(m.msgs) > 8 {
		m.msgs = m.msgs[len(m.msgs)-8:]
	}
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.scroll()
		return m, nil
	case TickMsg:
		m.now = msg.Now
		return m, tea.Batch(m.advance(), m.tick())
	case frameMsg:
		return m, m.gotFrame(msg)
	case detailsMsg:
		if msg.tid == m.dwant && msg.t1 == m.want[0] && msg.t2 == m.want[1] {
			m.details = msg.d
			if msg.err != nil {
				m.log("details: " + msg.err.Error())
			}
		}
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// pos is where the replay clock of a recorded trace is, or the newest
// analysed time of a live one.
func (m *Model) pos(last int64) int64 {
	if m.st.Live {
		return last
	}
	if !m.started {
		return m.origin
	}
	p := m.playAt + int64(float64(m.now.Sub(m.playWall))*m.speed)
	return min(p, last)
}

// advance follows the newest complete interval, unless paused.
func (m *Model) advance() tea.Cmd {
	m.st = m.src.Status()
	first, last, ok := m.src.Span()
	if !ok {
		return nil
	}
	if !m.started {
		m.origin = first
		if m.opt.BeginAt != "" {
			b, err := parseTime(m.opt.BeginAt, first, first, m.opt.Location)
			if err != nil {
				m.log("--begin: " + err.Error())
			} else {
				m.opt.Begin = b
			}
		}
		if m.opt.Begin > first {
			m.origin = m.opt.Begin
		}
		m.started = true
		m.playAt, m.playWall = m.origin, m.now
		if m.st.Live && m.opt.Begin == 0 {
			// A live top starts at the live edge.
			m.origin = first
		}
	}
	if m.paused {
		return nil
	}
	p := m.pos(last)
	if !m.st.Live && m.st.Done && p >= last {
		return m.atEnd(last)
	}
	e := m.grid(p)
	if e <= m.origin || e == m.want[1] {
		return nil
	}
	return m.request(max(e-m.length, m.origin), e)
}

// atEnd shows the last interval of a recorded trace, which ends with its
// last event (as the batch figures do), and pauses.
func (m *Model) atEnd(last int64) tea.Cmd {
	if !m.ended {
		m.ended, m.paused = true, true
		m.log("End of trace")
	}
	e := last + 1
	if e == m.want[1] {
		return nil
	}
	return m.request(max(e-m.length, m.origin), e)
}

// grid puts t on the grid of steps from the origin.
func (m *Model) grid(t int64) int64 {
	s := m.step()
	if t < m.origin {
		return m.origin
	}
	return m.origin + (t-m.origin)/s*s
}

// request asks for the figures of [t1, t2[; one computation runs at a
// time and only the newest wish is kept.
func (m *Model) request(t1, t2 int64) tea.Cmd {
	m.want = [2]int64{t1, t2}
	if m.inflight {
		m.queued = true
		return nil
	}
	m.inflight = true
	src, mu := m.src, m.mu
	var dtid TID
	if m.view == viewDetails && m.haveSel {
		dtid = TID(m.sel)
	}
	return func() tea.Msg {
		mu.Lock()
		defer mu.Unlock()
		f, err := src.Frame(t1, t2)
		msg := frameMsg{t1: t1, t2: t2, frame: f, err: err, dtid: dtid}
		if err == nil && dtid != 0 {
			msg.details, _ = src.Details(dtid, t1, t2)
		}
		return msg
	}
}

func (m *Model) gotFrame(msg frameMsg) tea.Cmd {
	m.inflight = false
	if msg.t1 == m.want[0] && msg.t2 == m.want[1] {
		if msg.err != nil {
			m.err = msg.err
			m.log(msg.err.Error())
		} else if msg.frame != nil {
			m.err = nil
			m.setFrame(msg.frame)
			if msg.dtid != 0 {
				m.details, m.dwant = msg.details, msg.dtid
			}
		}
	}
	if m.queued {
		m.queued = false
		return m.request(m.want[0], m.want[1])
	}
	if m.view == viewDetails && m.haveSel && TID(m.sel) != m.dwant {
		return m.requestDetails()
	}
	return nil
}

func (m *Model) setFrame(f *Frame) {
	m.frame = f
	m.parent = make(map[PID]PID, len(f.Tasks))
	m.pidName = make(map[PID]string, len(f.Tasks))
	for i := range f.Tasks {
		t := &f.Tasks[i]
		if TID(t.PID) == t.TID || m.parent[t.PID] == 0 {
			m.parent[t.PID] = t.PPID
			m.pidName[t.PID] = t.Name
		}
	}
	m.rebuild()
}

func (m *Model) requestDetails() tea.Cmd {
	if !m.haveSel || m.frame == nil || m.table() == tableFiles {
		return nil
	}
	tid := TID(m.sel)
	m.dwant = tid
	m.details = nil
	t1, t2 := m.want[0], m.want[1]
	src, mu := m.src, m.mu
	return func() tea.Msg {
		mu.Lock()
		defer mu.Unlock()
		d, err := src.Details(tid, t1, t2)
		return detailsMsg{t1: t1, t2: t2, tid: tid, d: d, err: err}
	}
}

// key handles a key press.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	if m.prompt != nil {
		return m.promptKey(k)
	}
	s := k.String()
	if m.help {
		m.help = false
		if s == "ctrl+c" {
			return m.doQuit()
		}
		return nil
	}
	act := keyAction[s]
	if m.pref {
		switch {
		case act == actUp:
			m.prefRow = max(m.prefRow-1, 0)
			return nil
		case act == actDown:
			m.prefRow = min(m.prefRow+1, len(m.columns(false))-1)
			return nil
		case s == " ":
			cols := m.columns(false)
			if m.prefRow < len(cols) {
				id := cols[m.prefRow].id
				vs := m.state()
				vs.hidden[id] = !vs.hidden[id]
			}
			return nil
		case s == "s":
			cols := m.columns(false)
			if m.prefRow < len(cols) {
				m.sortBy(cols[m.prefRow].id)
			}
			return nil
		case s == "esc" || act == actPref:
			m.pref = false
			return nil
		case act == actInvert:
			m.state().invert = !m.state().invert
			m.rebuild()
			return nil
		case act == actQuit:
			return m.doQuit()
		}
		return nil
	}
	if m.view == viewVM && m.vmKey(act) {
		return nil
	}
	switch act {
	case actHelp:
		m.help = true
	case actQuit:
		return m.doQuit()
	case actVM:
		m.setView(viewVM)
	case actCPU:
		m.setView(viewCPU)
	case actPerf:
		m.setView(viewPerf)
	case actIO:
		m.setView(viewIO)
	case actDetails:
		if m.view == viewDetails {
			m.view = m.back
			return nil
		}
		if m.table() == tableFiles || !m.haveSel {
			return nil
		}
		m.back, m.view, m.dscroll = m.view, viewDetails, 0
		m.picked = true
		return m.requestDetails()
	case actHighlight:
		if m.haveSel && m.table() != tableFiles {
			t := TID(m.sel)
			if m.hl[t] {
				delete(m.hl, t)
			} else {
				m.hl[t] = true
			}
			if m.onlyHL {
				m.rebuild()
			}
		}
	case actPref:
		if m.view != viewDetails {
			m.pref, m.prefRow = true, 0
		}
	case actUp, actDown, actPageUp, actPageDown, actHome, actEnd:
		if m.view == viewDetails {
			m.scrollDetails(act)
			return nil
		}
		switch act {
		case actUp:
			m.move(-1)
		case actDown:
			m.move(1)
		case actPageUp:
			m.move(-max(m.tableRows()-1, 1))
		case actPageDown:
			m.move(max(m.tableRows()-1, 1))
		case actHome:
			m.move(-len(m.rows))
		case actEnd:
			m.move(len(m.rows))
		}
	case actPause:
		return m.togglePause()
	case actPrev:
		return m.prev()
	case actNext:
		return m.next()
	case actGoto:
		m.prompt = &prompt{kind: promptGoto, label: "Go to time (hh:mm:ss[.ns] or +offset): "}
	case actInterval:
		m.prompt = &prompt{kind: promptInterval, label: "Interval length (10ms..10m): "}
	case actNameFilter:
		m.prompt = &prompt{kind: promptName, label: "Name filter: ", text: []rune(m.nameFilter)}
	case actSearch:
		m.prompt = &prompt{kind: promptSearch, label: "Search: "}
	case actSearchNext:
		m.find(m.cur + 1)
	case actSpeed:
		return m.nextSpeed()
	case actLive:
		return m.toEdge()
	case actHighlightedOnly:
		m.onlyHL = !m.onlyHL
		if m.onlyHL {
			m.log("Showing the highlighted processes only")
		} else {
			m.log("Showing all processes")
		}
		m.rebuild()
	case actChildren:
		m.cycleProcess()
	case actContainer:
		m.cycleContainer()
	case actVPID:
		m.vpid = !m.vpid
		m.rebuild()
	case actSortPrev, actSortNext:
		cols := m.columns(true)
		sc := m.sortColumn(cols)
		i := 0
		for j := range cols {
			if sc != nil && cols[j].id == sc.id {
				i = j
			}
		}
		if act == actSortNext {
			i = (i + 1) % len(cols)
		} else {
			i = (i + len(cols) - 1) % len(cols)
		}
		m.sortBy(cols[i].id)
	case actInvert:
		m.state().invert = !m.state().invert
		m.rebuild()
	case actThreads:
		m.threads = !m.threads
		if m.threads {
			m.log("Showing threads")
		} else {
			m.log("Showing processes")
		}
		m.rebuild()
	case actIOFiles:
		if m.view == viewIO {
			m.ioFiles = !m.ioFiles
			m.haveSel, m.picked = false, false
			m.cur, m.top = 0, 0
			m.rebuild()
		}
	}
	return nil
}

func (m *Model) doQuit() tea.Cmd {
	m.quit = true
	return tea.Quit
}

func (m *Model) setView(v viewID) {
	if m.view == v {
		return
	}
	m.view = v
	m.pref = false
	m.rebuild()
}

func (m *Model) sortBy(id string) {
	vs := m.state()
	if vs.sort == id {
		vs.invert = !vs.invert
	} else {
		vs.sort, vs.invert = id, false
	}
	m.log("Sorting by " + id)
	m.rebuild()
}

func (m *Model) move(d int) {
	if len(m.rows) == 0 {
		return
	}
	m.cur = min(max(m.cur+d, 0), len(m.rows)-1)
	m.sel, m.haveSel, m.picked = m.rows[m.cur].key, true, true
	m.scroll()
}

func (m *Model) find(from int) {
	if m.search == "" || len(m.rows) == 0 {
		return
	}
	q := strings.ToLower(m.search)
	for k := range len(m.rows) {
		i := (from + k) % len(m.rows)
		r := &m.rows[i]
		name := ""
		if r.t != nil {
			name = r.t.Name
		} else if r.file != nil {
			name = r.file.Name
		}
		if strings.Contains(strings.ToLower(name), q) {
			m.cur = i
			m.sel, m.haveSel, m.picked = r.key, true, true
			m.scroll()
			return
		}
	}
	m.log("No match for " + strconv.Quote(m.search))
}

func (m *Model) selTask() *Task {
	if m.cur < len(m.rows) && m.rows[m.cur].t != nil {
		return m.rows[m.cur].t
	}
	return nil
}

func (m *Model) cycleProcess() {
	m.procMode = (m.procMode + 1) % 3
	if m.procMode == 1 {
		t := m.selTask()
		if t == nil {
			m.procMode = 0
			return
		}
		m.procPID = t.PID
	}
	switch m.procMode {
	case 0:
		m.log("Showing all processes")
	case 1:
		m.log(fmt.Sprintf("Showing process %d only", m.procPID))
	case 2:
		m.log(fmt.Sprintf("Showing process %d and its children", m.procPID))
	}
	m.rebuild()
}

func (m *Model) cycleContainer() {
	m.contMode = (m.contMode + 1) % 3
	if m.contMode == 1 {
		t := m.selTask()
		if t == nil {
			m.contMode = 0
			return
		}
		m.cont = t.Container
	}
	name := m.cont
	if name == "" {
		name = "host"
	}
	switch m.contMode {
	case 0:
		m.log("Showing all containers")
	case 1:
		m.log("Showing container " + name + " only")
	case 2:
		m.log("Showing container " + name + " and nested ones")
	}
	m.rebuild()
}

// Time travel.

func (m *Model) togglePause() tea.Cmd {
	if !m.paused {
		m.paused = true
		m.log("Pause")
		return nil
	}
	m.log("Resume")
	return m.resume(m.want[1])
}

// resume follows again: a recorded trace plays on from at, a live one
// goes back to its newest interval.
func (m *Model) resume(at int64) tea.Cmd {
	m.paused, m.ended = false, false
	if !m.st.Live && m.started {
		m.playAt, m.playWall = max(at, m.origin), m.now
	}
	return m.advance()
}

func (m *Model) prev() tea.Cmd {
	if !m.started || m.want[1] == 0 {
		return nil
	}
	e := m.want[1] - m.length
	if e <= m.origin {
		m.log("Cannot rewind, last data is already displayed")
		if !m.paused {
			m.paused = true
			m.log("Pause")
		}
		return nil
	}
	m.log("Going back in time")
	if !m.paused {
		m.paused = true
		m.log("Pause")
	}
	return m.request(max(e-m.length, m.origin), e)
}

func (m *Model) next() tea.Cmd {
	if !m.started {
		return nil
	}
	_, last, _ := m.src.Span()
	e := m.want[1] + m.length
	if m.paused && e <= last {
		m.log("Going forward in time")
		return m.request(max(e-m.length, m.origin), e)
	}
	m.log("Manually moving forward")
	if m.st.Live {
		m.paused = false
		return m.advance()
	}
	m.paused, m.ended = false, false
	if m.st.Done && e > last {
		return m.atEnd(last)
	}
	m.playAt, m.playWall = e, m.now
	return m.request(max(e-m.length, m.origin), e)
}

func (m *Model) toEdge() tea.Cmd {
	if !m.started {
		return nil
	}
	if m.st.Live {
		m.log("Back to the live edge")
		m.paused = false
		return m.advance()
	}
	_, last, _ := m.src.Span()
	m.ended = false
	return m.atEnd(last)
}

func (m *Model) nextSpeed() tea.Cmd {
	if m.st.Live {
		m.log("The replay speed applies to recorded traces")
		return nil
	}
	i := 0
	for j, s := range speeds {
		if s == m.speed {
			i = (j + 1) % len(speeds)
		}
	}
	if m.started && !m.paused {
		_, last, _ := m.src.Span()
		m.playAt, m.playWall = m.pos(last), m.now
	}
	m.speed = speeds[i]
	m.log("Replay speed " + speedWord(m.speed))
	return nil
}

func speedWord(s float64) string {
	return "×" + strconv.FormatFloat(s, 'f', -1, 64)
}

func (m *Model) setInterval(d time.Duration) tea.Cmd {
	if d < MinInterval || d > MaxInterval {
		m.log("The interval must be between 10ms and 10m")
		return nil
	}
	m.length = int64(d)
	m.log("Interval " + d.String())
	if !m.started {
		return nil
	}
	e := m.want[1]
	if m.paused && e > m.origin {
		return m.request(max(e-m.length, m.origin), e)
	}
	m.want = [2]int64{}
	return m.advance()
}

func (m *Model) gotoTime(s string) tea.Cmd {
	first, _, ok := m.src.Span()
	if !ok {
		return nil
	}
	t, err := parseTime(s, first, m.origin, m.opt.Location)
	if err != nil {
		m.log(err.Error())
		return nil
	}
	m.paused = true
	m.ended = false
	e := max(t+m.length, m.origin+m.length)
	m.log("Going to " + clock(e-m.length, m.opt.Location))
	return m.request(max(e-m.length, m.origin), e)
}

// parseTime reads "+1.5s" (from the origin) or "hh:mm:ss[.frac]" (on the
// day of the trace's first event, in loc).
func parseTime(s string, first, origin int64, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return 0, fmt.Errorf("bad offset %q (want +1.5s)", s)
		}
		return origin + int64(d), nil
	}
	var h, mi int
	var sec float64
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("bad time %q (want hh:mm:ss[.ns] or +offset)", s)
	}
	var err1, err2, err3 error
	h, err1 = strconv.Atoi(parts[0])
	mi, err2 = strconv.Atoi(parts[1])
	sec, err3 = strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || mi > 59 || sec >= 60 || sec < 0 {
		return 0, fmt.Errorf("bad time %q (want hh:mm:ss[.ns] or +offset)", s)
	}
	day := time.Unix(0, first).In(loc)
	whole := math.Floor(sec)
	t := time.Date(day.Year(), day.Month(), day.Day(), h, mi, int(whole), 0, loc)
	ns := t.UnixNano() + int64(math.Round((sec-whole)*1e9))
	return ns, nil
}

func (m *Model) promptKey(k tea.KeyMsg) tea.Cmd {
	p := m.prompt
	switch k.Type {
	case tea.KeyEsc, tea.KeyCtrlC:
		m.prompt = nil
		return nil
	case tea.KeyBackspace:
		if len(p.text) > 0 {
			p.text = p.text[:len(p.text)-1]
		}
		return nil
	case tea.KeyEnter:
		m.prompt = nil
		s := string(p.text)
		switch p.kind {
		case promptGoto:
			return m.gotoTime(s)
		case promptInterval:
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil {
				m.log(fmt.Sprintf("bad interval %q (want 10ms..10m)", s))
				return nil
			}
			return m.setInterval(d)
		case promptName:
			m.nameFilter = strings.TrimSpace(s)
			if m.nameFilter == "" {
				m.log("No name filter")
			} else {
				m.log("Name filter: " + m.nameFilter)
			}
			m.rebuild()
		case promptSearch:
			m.search = strings.TrimSpace(s)
			m.find(0)
		}
		return nil
	case tea.KeyRunes, tea.KeySpace:
		p.text = append(p.text, k.Runes...)
	}
	return nil
}

// Mode is the mode word of the header.
func (m *Model) Mode() string {
	switch {
	case m.paused && m.want[1] != 0:
		return "PAUSED at " + clock(m.want[1], m.opt.Location)
	case m.paused:
		return "PAUSED"
	case m.st.Live && m.st.Behind:
		return "CATCHING UP"
	case m.st.Live:
		return "LIVE"
	}
	return "REPLAY " + speedWord(m.speed)
}

// clock spells a time as hh:mm:ss.nnnnnnnnn.
func clock(ns int64, loc *time.Location) string {
	t := time.Unix(0, ns).In(loc)
	return fmt.Sprintf("%02d:%02d:%02d.%09d", t.Hour(), t.Minute(), t.Second(), t.Nanosecond())
}

// vmKey handles the keys of the VM view that differ from the tables'
// (selection, Enter); it says whether it handled act.
func (m *Model) vmKey(act action) bool {
	n := 0
	if m.frame != nil {
		n = len(m.frame.VMs)
	}
	switch act {
	case actDetails:
		if m.vmVCPUs || n > 0 {
			m.vmVCPUs, m.vmOff = !m.vmVCPUs, 0
		}
	case actUp, actDown, actPageUp, actPageDown, actHome, actEnd:
		if m.vmVCPUs {
			last := 0
			if v := m.selVM(); v != nil {
				// the rows below the summary, blank and header lines
				last = max(len(v.VCPUs)-max(m.tableRows()-2, 1), 0)
			}
			scroll(&m.vmOff, act, max(m.tableRows()-3, 1), last)
			return true
		}
		if n == 0 {
			return true
		}
		switch i := m.vmIndex(); act {
		case actUp:
			m.vmCur = max(i-1, 0)
		case actDown:
			m.vmCur = min(i+1, n-1)
		case actPageUp, actHome:
			m.vmCur = 0
		default:
			m.vmCur = n - 1
		}
		m.vmSel = m.frame.VMs[m.vmCur].PID
	case actPref, actHighlight, actSortPrev, actSortNext, actInvert, actThreads, actIOFiles,
		actHighlightedOnly, actChildren, actContainer, actSearch, actSearchNext, actNameFilter, actVPID:
		// The process tables' keys: nothing to do on VMs.
	default:
		return false
	}
	return true
}

// vmIndex is the row of the selected VM in the frame (the VM kept by
// pid across intervals, else the same row, else the first).
func (m *Model) vmIndex() int {
	if m.frame == nil || len(m.frame.VMs) == 0 {
		return 0
	}
	for i := range m.frame.VMs {
		if m.frame.VMs[i].PID == m.vmSel {
			return i
		}
	}
	return min(m.vmCur, len(m.frame.VMs)-1)
}
