package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// row is one line of a table: a thread, a process (threads summed) or a
// file of IOtop's file table.
type row struct {
	key  int64 // what the selection follows: the tid, or pid<<32|fd
	t    *Task
	file *FileIO
	pct  float64 // CPU share of one core, in %
	rps  float64 // bytes read per second
	wps  float64 // bytes written per second
}

// column is one column of a table.
type column struct {
	id    string
	width int // 0: the rest of the line
	left  bool
	// optional columns are hidden until shown in the preferences.
	optional bool
	// present says whether the column exists at all (VPID only with `v`,
	// CONTAINER only when the trace has containers).
	present func(m *Model) bool
	cell    func(m *Model, r *row) string
	// num or str is the sort key; numbers sort descending by default,
	// strings ascending.
	num func(r *row) float64
	str func(r *row) string
}

func vpidOn(m *Model) bool { return m.vpid }

func containersOn(m *Model) bool {
	if m.frame == nil {
		return false
	}
	for i := range m.frame.Tasks {
		if m.frame.Tasks[i].Container != "" {
			return true
		}
	}
	return false
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func mark(t *Task) string {
	switch {
	case t.Born && t.Dead:
		return "+-"
	case t.Born:
		return "+"
	case t.Dead:
		return "-"
	}
	return ""
}

func stateName(b byte) string {
	if b == 0 {
		return "?"
	}
	return string(b)
}

var (
	colPID = column{id: "PID", width: 7, cell: func(_ *Model, r *row) string { return itoa(int64(r.t.PID)) },
		num: func(r *row) float64 { return float64(r.t.PID) }}
	colTID = column{id: "TID", width: 7, cell: func(_ *Model, r *row) string { return itoa(int64(r.t.TID)) },
		num: func(r *row) float64 { return float64(r.t.TID) }}
	colVPID = column{id: "VPID", width: 7, present: vpidOn, cell: func(_ *Model, r *row) string { return itoa(int64(r.t.VPID)) },
		num: func(r *row) float64 { return float64(r.t.VPID) }}
	colVTID = column{id: "VTID", width: 7, present: vpidOn, cell: func(_ *Model, r *row) string { return itoa(int64(r.t.VTID)) },
		num: func(r *row) float64 { return float64(r.t.VTID) }}
	colMark = column{id: "+/-", width: 3, left: true, cell: func(_ *Model, r *row) string { return mark(r.t) },
		str: func(r *row) string { return mark(r.t) }}
	colName = column{id: "NAME", width: 0, left: true, cell: func(_ *Model, r *row) string { return r.t.Name },
		str: func(r *row) string { return r.t.Name }}
	colContainer = column{id: "CONTAINER", width: 12, left: true, present: containersOn,
		cell: func(_ *Model, r *row) string { return r.t.Container },
		str:  func(r *row) string { return r.t.Container }}
)

// cpuColumns is the CPUtop table.
var cpuColumns = []column{
	{id: "CPU(%)", width: 7, cell: func(_ *Model, r *row) string { return fmt.Sprintf("%.2f", r.pct) },
		num: func(r *row) float64 { return r.pct }},
	colPID, colTID, colVPID, colVTID,
	{id: "ST", width: 3, cell: func(_ *Model, r *row) string { return stateName(r.t.State) },
		str: func(r *row) string { return stateName(r.t.State) }},
	{id: "SW", width: 7, cell: func(_ *Model, r *row) string { return itoa(int64(r.t.Switches)) },
		num: func(r *row) float64 { return float64(r.t.Switches) }},
	colContainer, colMark, colName,
}

// ioColumns is the IOtop table by process.
var ioColumns = []column{
	{id: "R/s", width: 10, cell: func(_ *Model, r *row) string { return rate(r.rps) },
		num: func(r *row) float64 { return r.rps }},
	{id: "W/s", width: 10, cell: func(_ *Model, r *row) string { return rate(r.wps) },
		num: func(r *row) float64 { return r.wps }},
	{id: "TOTAL", width: 10, cell: func(_ *Model, r *row) string { return size(r.t.Read + r.t.Write) },
		num: func(r *row) float64 { return float64(r.t.Read + r.t.Write) }},
	colPID, colTID, colVPID, colVTID, colContainer, colMark, colName,
}

// fileColumns is the IOtop table by file and socket.
var fileColumns = []column{
	{id: "R/s", width: 10, cell: func(_ *Model, r *row) string { return rate(r.rps) },
		num: func(r *row) float64 { return r.rps }},
	{id: "W/s", width: 10, cell: func(_ *Model, r *row) string { return rate(r.wps) },
		num: func(r *row) float64 { return r.wps }},
	{id: "TOTAL", width: 10, cell: func(_ *Model, r *row) string { return size(r.file.Read + r.file.Write) },
		num: func(r *row) float64 { return float64(r.file.Read + r.file.Write) }},
	{id: "PID", width: 7, cell: func(_ *Model, r *row) string { return itoa(int64(r.file.PID)) },
		num: func(r *row) float64 { return float64(r.file.PID) }},
	{id: "FD", width: 5, cell: func(_ *Model, r *row) string { return itoa(int64(r.file.FD)) },
		num: func(r *row) float64 { return float64(r.file.FD) }},
	{id: "KIND", width: 6, left: true, cell: func(_ *Model, r *row) string { return fileKind(r.file.Socket) },
		str: func(r *row) string { return fileKind(r.file.Socket) }},
	{id: "FILE", width: 0, left: true, cell: func(_ *Model, r *row) string { return r.file.Name },
		str: func(r *row) string { return r.file.Name }},
}

func fileKind(socket bool) string {
	if socket {
		return "socket"
	}
	return "file"
}

// perfColumns is the PerfTop table: ids, then one column per counter.
func perfColumns(f *Frame) []column {
	cols := []column{colPID, colTID, colVPID, colVTID, colMark}
	if f != nil {
		for i, name := range f.PerfNames {
			cols = append(cols, column{id: perfLabel(name), width: perfWidth(name),
				cell: func(_ *Model, r *row) string {
					if i < len(r.t.Perf) {
						return itoa(r.t.Perf[i])
					}
					return "0"
				},
				num: func(r *row) float64 {
					if i < len(r.t.Perf) {
						return float64(r.t.Perf[i])
					}
					return 0
				}})
		}
	}
	return append(cols, colName)
}

// perfLabel drops the context prefix of a perf counter's field name:
// perf_thread_page_fault -> page_fault.
func perfLabel(name string) string {
	for _, p := range []string{"perf_thread_", "perf_cpu_", "perf_"} {
		if strings.HasPrefix(name, p) {
			return name[len(p):]
		}
	}
	return name
}

func perfWidth(name string) int {
	w := len(perfLabel(name))
	if w < 10 {
		w = 10
	}
	if w > 20 {
		w = 20
	}
	return w
}

// size spells a byte count with a binary unit.
func size(b uint64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatUint(b, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}

func rate(bps float64) string {
	if bps < 0 {
		bps = 0
	}
	return size(uint64(bps + 0.5))
}

// viewState is what the preferences change, per table.
type viewState struct {
	sort   string // column id
	invert bool
	hidden map[string]bool
}

// columns returns the columns of the current table that exist and are
// shown (shown=false: every existing column, for the preferences).
func (m *Model) columns(shown bool) []column {
	var all []column
	switch m.table() {
	case tablePerf:
		all = perfColumns(m.frame)
	case tableIO:
		all = ioColumns
	case tableFiles:
		all = fileColumns
	default:
		all = cpuColumns
	}
	vs := m.state()
	out := make([]column, 0, len(all))
	for _, c := range all {
		if c.present != nil && !c.present(m) {
			continue
		}
		if shown && vs.hidden[c.id] {
			continue
		}
		out = append(out, c)
	}
	return out
}

// tableID names the tables (a view may have two: IOtop).
type tableID int

const (
	tableCPU tableID = iota
	tablePerf
	tableIO
	tableFiles
	nTables
)

func (m *Model) table() tableID {
	v := m.view
	if v == viewDetails {
		v = m.back
	}
	switch v {
	case viewPerf:
		return tablePerf
	case viewIO:
		if m.ioFiles {
			return tableFiles
		}
		return tableIO
	}
	return tableCPU
}

func (m *Model) state() *viewState { return &m.tables[m.table()] }

// sortColumn returns the column the table is sorted by.
func (m *Model) sortColumn(cols []column) *column {
	vs := m.state()
	for i := range cols {
		if cols[i].id == vs.sort {
			return &cols[i]
		}
	}
	// The default: the first numeric column that is not an id.
	for i := range cols {
		switch cols[i].id {
		case "PID", "TID", "VPID", "VTID", "FD":
			continue
		}
		if cols[i].num != nil {
			return &cols[i]
		}
	}
	if len(cols) > 0 {
		return &cols[0]
	}
	return nil
}

// rebuild makes the rows of the current table from the frame: filters,
// sorts, and puts the cursor back on the selected process.
func (m *Model) rebuild() {
	m.rows = m.rows[:0]
	f := m.frame
	if f == nil {
		m.cur, m.top = 0, 0
		return
	}
	secs := float64(f.End-f.Start) / 1e9
	if secs <= 0 {
		secs = 1
	}
	// CPU(%) is of one core, as lttng-cputop and the batch figures say it:
	// 100 is a thread on CPU for the whole interval.
	capacity := float64(f.End - f.Start)
	if m.table() == tableFiles {
		for i := range f.Files {
			fi := &f.Files[i]
			if !m.keepPID(fi.PID, "", "") {
				continue
			}
			m.rows = append(m.rows, row{key: int64(fi.PID)<<32 | int64(uint32(fi.FD)), file: fi,
				rps: float64(fi.Read) / secs, wps: float64(fi.Write) / secs})
		}
	} else {
		tasks := f.Tasks
		if !m.threads {
			tasks = m.byProcess(f)
		}
		for i := range tasks {
			t := &tasks[i]
			if !m.keepTask(t) {
				continue
			}
			r := row{key: int64(t.TID), t: t, rps: float64(t.Read) / secs, wps: float64(t.Write) / secs}
			if capacity > 0 {
				r.pct = float64(t.CPU) * 100 / capacity
			}
			m.rows = append(m.rows, r)
		}
	}
	cols := m.columns(false)
	sc := m.sortColumn(cols)
	inv := m.state().invert
	if sc != nil {
		sort.SliceStable(m.rows, func(i, j int) bool {
			a, b := &m.rows[i], &m.rows[j]
			if sc.num != nil {
				x, y := sc.num(a), sc.num(b)
				if x != y {
					return (x > y) != inv
				}
			} else {
				x, y := sc.str(a), sc.str(b)
				if x != y {
					return (x < y) != inv
				}
			}
			return a.key < b.key
		})
	}
	m.follow()
}

// follow puts the cursor on the row of the selected key, or keeps its
// line when that process is gone, and scrolls to show it. Before the user
// picks a row, the cursor stays on the first one.
func (m *Model) follow() {
	if !m.picked {
		m.cur, m.top = 0, 0
		m.haveSel = len(m.rows) > 0
		if m.haveSel {
			m.sel = m.rows[0].key
		}
		return
	}
	found := false
	for i := range m.rows {
		if m.rows[i].key == m.sel && m.haveSel {
			m.cur, found = i, true
			break
		}
	}
	if !found {
		m.cur = min(m.cur, len(m.rows)-1)
		m.cur = max(m.cur, 0)
		if len(m.rows) > 0 {
			m.sel, m.haveSel = m.rows[m.cur].key, true
		}
	}
	m.scroll()
}

func (m *Model) scroll() {
	n := m.tableRows()
	if m.cur < m.top {
		m.top = m.cur
	}
	if n > 0 && m.cur >= m.top+n {
		m.top = m.cur - n + 1
	}
	if m.top > max(len(m.rows)-n, 0) {
		m.top = max(len(m.rows)-n, 0)
	}
	m.top = max(m.top, 0)
}

// byProcess sums the threads of each process into one task named after
// its leader.
func (m *Model) byProcess(f *Frame) []Task {
	idx := make(map[PID]int, len(f.Tasks))
	out := make([]Task, 0, len(f.Tasks))
	for i := range f.Tasks {
		t := &f.Tasks[i]
		j, ok := idx[t.PID]
		if !ok {
			j = len(out)
			idx[t.PID] = j
			p := *t
			p.TID, p.VTID = TID(t.PID), VTID(t.VPID)
			p.Perf = append([]int64(nil), t.Perf...)
			out = append(out, p)
			continue
		}
		p := &out[j]
		if t.TID == TID(t.PID) {
			p.Name, p.PPID, p.State, p.Born, p.Dead = t.Name, t.PPID, t.State, t.Born, t.Dead
		}
		p.CPU += t.CPU
		p.Switches += t.Switches
		p.Read += t.Read
		p.Write += t.Write
		for k := range t.Perf {
			if k < len(p.Perf) {
				p.Perf[k] += t.Perf[k]
			}
		}
	}
	return out
}

// keepTask applies the filters to a thread.
func (m *Model) keepTask(t *Task) bool {
	if m.onlyHL && !m.hl[t.TID] && !m.hl[TID(t.PID)] {
		return false
	}
	if m.nameFilter != "" && !strings.Contains(strings.ToLower(t.Name), strings.ToLower(m.nameFilter)) {
		return false
	}
	if m.contMode != 0 && !m.inContainer(t.Container) {
		return false
	}
	return m.keepPID(t.PID, t.Name, "")
}

// keepPID applies the process filters (-p, -n, -f and `F`).
func (m *Model) keepPID(pid PID, name, _ string) bool {
	if m.procMode != 0 {
		if pid != m.procPID && !(m.procMode == 2 && m.descends(pid, func(p PID) bool { return p == m.procPID })) {
			return false
		}
	}
	if len(m.optPIDs) > 0 || len(m.optNames) > 0 {
		in := func(p PID) bool {
			if m.optPIDs[p] {
				return true
			}
			return len(m.optNames) > 0 && m.optNames[m.pidName[p]]
		}
		if !in(pid) && !(name != "" && m.optNames[name]) && !(m.optChildren && m.descends(pid, in)) {
			return false
		}
	}
	return true
}

// descends says whether an ancestor of pid (not pid itself) satisfies is,
// from the parent links of the frame.
func (m *Model) descends(pid PID, is func(PID) bool) bool {
	for range 64 {
		pp, ok := m.parent[pid]
		if !ok || pp == pid || pp <= 0 {
			return false
		}
		if is(pp) {
			return true
		}
		pid = pp
	}
	return false
}

func (m *Model) inContainer(c string) bool {
	for range 64 {
		if c == m.cont {
			return true
		}
		if m.contMode != 2 || c == "" || m.frame == nil {
			return false
		}
		c = m.frame.ContainerParent[c]
	}
	return false
}
