package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

var (
	stBold      = lipgloss.NewStyle().Bold(true)
	stSelected  = lipgloss.NewStyle().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("4"))
	stHighlight = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("3"))
	stKey       = lipgloss.NewStyle().Foreground(lipgloss.Color("0")).Background(lipgloss.Color("7"))
	stKeyOn     = lipgloss.NewStyle().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("2"))
	stPlus      = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	stMinus     = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
)

// Minimum screen size; below it the top says so instead of drawing.
const (
	minWidth  = 40
	minHeight = 12
)

// layout returns the heights of the center box and of the status pane's
// message lines.
func (m *Model) layout() (center, status int) {
	box := 0
	switch {
	case m.h >= 34:
		status, box = 4, 6
	case m.h >= 20:
		status, box = 2, 4
	}
	center = m.h - 5 - box - 1
	return center, status
}

// tableRows is how many rows of a table fit.
func (m *Model) tableRows() int {
	c, _ := m.layout()
	return max(c-3, 1)
}

// fit pads or cuts plain text to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// boxTop draws the top border of a box with its title.
func boxTop(title string, w int) string {
	inner := w - 2
	t := fit(title, inner)
	t = strings.TrimRight(t, " ")
	return "┌" + stBold.Render(t) + strings.Repeat("─", inner-ansi.StringWidth(t)) + "┐"
}

func boxBottom(w int) string { return "└" + strings.Repeat("─", w-2) + "┘" }

func boxLine(s string, w int) string { return "│" + fit(s, w-2) + "│" }

// boxLineStyled draws a line whose plain text is fitted first, then
// styled, so the style never changes the width.
func boxLineStyled(s string, w int, st *lipgloss.Style) string {
	if st == nil {
		return boxLine(s, w)
	}
	return "│" + st.Render(fit(s, w-2)) + "│"
}

// View renders the screen.
func (m *Model) View() string {
	if m.quit {
		return ""
	}
	w, h := m.w, m.h
	if w < minWidth || h < minHeight {
		return fit(fmt.Sprintf("tracetop needs at least %dx%d (this is %dx%d)", minWidth, minHeight, w, h), w)
	}
	var b strings.Builder
	b.Grow(w * h * 2)
	m.renderHeader(&b)
	m.renderCenter(&b)
	m.renderStatus(&b)
	m.renderFooter(&b)
	return b.String()
}

func (m *Model) renderHeader(b *strings.Builder) {
	w := m.w
	f := m.frame
	title := "Statistics for interval [gathering data...["
	if f != nil {
		title = "Statistics for interval [" + clock(f.Start, m.opt.Location) + ", " + clock(f.End, m.opt.Location) + "["
	}
	b.WriteString(boxTop(title, w))
	b.WriteByte('\n')
	inner := w - 2
	right := [3]string{m.Mode(), "", ""}
	if m.st.Lost > 0 {
		right[1] = fmt.Sprintf("Lost: %d events", m.st.Lost)
	}
	if m.st.Lag > 0 {
		right[2] = fmt.Sprintf("Relay lag: %.1fs", m.st.Lag.Seconds())
	}
	if m.st.Err != nil {
		right[1] = "source: " + m.st.Err.Error()
	}
	var left [3]string
	if f == nil {
		left = [3]string{"   CPUs", "   Threads", "   FDs"}
	} else {
		left[0] = fmt.Sprintf("   %-11s %-7d (max/cpu : 100.00%%)", "CPUs", f.CPUs)
		left[1] = fmt.Sprintf("   %-11s %-7d %s", "Threads", f.Threads, deltas(f.NewThreads, f.DeadThreads))
		left[2] = fmt.Sprintf("   %-11s %-7d %-15s", "FDs", f.FDs, deltas(f.OpenedFDs, f.ClosedFDs))
		secs := float64(f.End-f.Start) / 1e9
		if secs > 0 {
			left[2] += fmt.Sprintf(" R %s/s  W %s/s", rate(float64(f.ReadBytes)/secs), rate(float64(f.WriteBytes)/secs))
		}
	}
	for i := range 3 {
		l := left[i]
		r := right[i]
		gap := inner - ansi.StringWidth(l) - ansi.StringWidth(r) - 1
		var line string
		if gap >= 1 {
			line = l + strings.Repeat(" ", gap) + r + " "
		} else {
			line = l
		}
		b.WriteString(boxLine(line, w))
		b.WriteByte('\n')
	}
	b.WriteString(boxBottom(w))
	b.WriteByte('\n')
}

func deltas(plus, minus int) string {
	p := "0"
	if plus > 0 {
		p = fmt.Sprintf("+%d", plus)
	}
	q := "0"
	if minus > 0 {
		q = fmt.Sprintf("-%d", minus)
	}
	return "(" + p + ", " + q + ")"
}

func (m *Model) centerTitle() string {
	switch {
	case m.help:
		return "Help"
	case m.pref:
		return "Preferences"
	}
	switch m.view {
	case viewPerf:
		return "Perf Top"
	case viewIO:
		if m.ioFiles {
			return "IO Top (files and sockets)"
		}
		return "IO Top"
	case viewDetails:
		return "Process details"
	case viewVM:
		if v := m.selVM(); v != nil && m.vmVCPUs {
			return fmt.Sprintf("VM Top: vCPUs of %s (pid %d)", v.Name, v.PID)
		}
		return "VM Top"
	}
	return "CPU Top"
}

func (m *Model) renderCenter(b *strings.Builder) {
	ch, _ := m.layout()
	w := m.w
	body := ch - 2
	title := m.centerTitle()
	var lines []string
	table := false
	switch {
	case m.help:
		lines = helpLines()
	case m.pref:
		lines = m.prefLines()
	case m.view == viewDetails:
		lines = m.detailLines()
		if n := len(lines); n > body {
			// Longer than the box: it scrolls, the title says where.
			off := min(max(m.dscroll, 0), n-body)
			lines = lines[off:]
			title += fmt.Sprintf(" (lines %d-%d of %d, Up/Down/PgUp/PgDn)", off+1, off+body, n)
		}
	case m.view == viewVM:
		b.WriteString(boxTop(title, w))
		b.WriteByte('\n')
		m.renderVMs(b, body)
		b.WriteString(boxBottom(w))
		b.WriteByte('\n')
		return
	default:
		table = true
	}
	if fl := m.filterWords(); fl != "" {
		title += " [" + fl + "]"
	}
	b.WriteString(boxTop(title, w))
	b.WriteByte('\n')
	if table {
		m.renderTable(b, body)
		b.WriteString(boxBottom(w))
		b.WriteByte('\n')
		return
	}
	for i := range body {
		s := ""
		if i < len(lines) {
			s = " " + lines[i]
		}
		b.WriteString(boxLine(s, w))
		b.WriteByte('\n')
	}
	b.WriteString(boxBottom(w))
	b.WriteByte('\n')
}

// filterWords says which filters are on, for the center title.
func (m *Model) filterWords() string {
	var f []string
	if m.onlyHL {
		f = append(f, "highlighted")
	}
	switch m.procMode {
	case 1:
		f = append(f, fmt.Sprintf("pid %d", m.procPID))
	case 2:
		f = append(f, fmt.Sprintf("pid %d+children", m.procPID))
	}
	if m.contMode != 0 {
		c := m.cont
		if c == "" {
			c = "host"
		}
		if m.contMode == 2 {
			c += "+nested"
		}
		f = append(f, "container "+c)
	}
	if m.nameFilter != "" {
		f = append(f, "name "+m.nameFilter)
	}
	if !m.threads && m.table() != tableFiles {
		f = append(f, "processes")
	}
	return strings.Join(f, ", ")
}

// cells lays out one table line: a two-cell gutter (cursor, highlight)
// then the columns, the last flexible one taking the rest.
func (m *Model) cells(cols []column, inner int, cell func(c *column) string) string {
	var sb strings.Builder
	used := 0
	for i := range cols {
		c := &cols[i]
		s := cell(c)
		cw := c.width
		if cw == 0 {
			cw = max(inner-used, 0)
		}
		if c.left || c.width == 0 {
			sb.WriteString(fit(s, cw))
		} else {
			if ansi.StringWidth(s) > cw {
				s = ansi.Truncate(s, cw, "")
			}
			sb.WriteString(strings.Repeat(" ", cw-ansi.StringWidth(s)))
			sb.WriteString(s)
		}
		used += cw
		if i < len(cols)-1 {
			sb.WriteByte(' ')
			used++
		}
		if used >= inner {
			break
		}
	}
	return sb.String()
}

func (m *Model) renderTable(b *strings.Builder, body int) {
	w := m.w
	cols := m.columns(true)
	inner := w - 2 - 2
	sc := m.sortColumn(m.columns(false))
	hdr := m.cells(cols, inner, func(c *column) string {
		if sc != nil && c.id == sc.id {
			if m.state().invert {
				return c.id + "^"
			}
			return c.id + "v"
		}
		return c.id
	})
	b.WriteString(boxLineStyled("  "+hdr, w, &stBold))
	b.WriteByte('\n')
	n := body - 1
	for i := range n {
		k := m.top + i
		if k >= len(m.rows) {
			if k == 0 && i == 0 && m.frame != nil {
				b.WriteString(boxLine("  (nothing in this interval)", w))
			} else {
				b.WriteString(boxLine("", w))
			}
			b.WriteByte('\n')
			continue
		}
		r := &m.rows[k]
		g0, g1 := ' ', ' '
		var st *lipgloss.Style
		if r.t != nil && (m.hl[r.t.TID] || m.hl[TID(r.t.PID)]) {
			g1 = '*'
			st = &stHighlight
		}
		if k == m.cur {
			g0 = '>'
			st = &stSelected
		}
		line := string(g0) + string(g1) + m.cells(cols, inner, func(c *column) string { return c.cell(m, r) })
		b.WriteString(boxLineStyled(line, w, st))
		b.WriteByte('\n')
	}
}

func (m *Model) prefLines() []string {
	cols := m.columns(false)
	vs := m.state()
	sc := m.sortColumn(cols)
	lines := []string{"Space: show/hide   s: sort by it (again: invert)   I: invert   r/Esc: close", ""}
	for i, c := range cols {
		cur := "  "
		if i == m.prefRow {
			cur = "> "
		}
		x := "x"
		if vs.hidden[c.id] {
			x = " "
		}
		srt := ""
		if sc != nil && sc.id == c.id {
			srt = "  sorted, descending"
			if (c.num != nil) == vs.invert {
				srt = "  sorted, ascending"
			}
		}
		lines = append(lines, fmt.Sprintf("%s[%s] %s%s", cur, x, c.id, srt))
	}
	return lines
}

func (m *Model) detailLines() []string {
	d := m.details
	if d == nil {
		if m.haveSel {
			return []string{fmt.Sprintf("%-12s %d", "TID", m.sel), "Does not exist at this time"}
		}
		return []string{"No process selected"}
	}
	t := &d.Task
	f := m.frame
	pct := 0.0
	if f != nil && f.End > f.Start {
		pct = float64(t.CPU) * 100 / float64(f.End-f.Start)
	}
	secs := 1.0
	if f != nil && f.End > f.Start {
		secs = float64(f.End-f.Start) / 1e9
	}
	kv := func(k string, v string) string { return fmt.Sprintf("%-12s %s", k, v) }
	lines := []string{
		kv("Name", t.Name+markWord(t)),
		kv("TID", fmt.Sprintf("%d    PID %d    PPID %d", t.TID, t.PID, t.PPID)),
	}
	if d.ParentName != "" {
		lines[1] += " (" + d.ParentName + ")"
	}
	if t.VPID != 0 || t.VTID != 0 || t.Container != "" {
		c := t.Container
		if c == "" {
			c = "host"
		}
		lines = append(lines, kv("VTID", fmt.Sprintf("%d    VPID %d    container %s", t.VTID, t.VPID, c)))
	}
	lines = append(lines,
		kv("CPU", fmt.Sprintf("%.2f %%    state %s    switches %d", pct, stateName(t.State), t.Switches)),
		kv("I/O", fmt.Sprintf("read %s (%s/s)    write %s (%s/s)", size(t.Read), rate(float64(t.Read)/secs),
			size(t.Write), rate(float64(t.Write)/secs))),
	)
	if f != nil && len(f.PerfNames) > 0 {
		var ps []string
		for i, n := range f.PerfNames {
			v := int64(0)
			if i < len(t.Perf) {
				v = t.Perf[i]
			}
			ps = append(ps, fmt.Sprintf("%s %d", perfLabel(n), v))
		}
		lines = append(lines, kv("Perf", strings.Join(ps, "    ")))
	}
	lines = append(lines, kv("Threads", taskList(d.Threads)), kv("Children", taskList(d.Children)))
	lines = append(lines, "", fmt.Sprintf("Open files at %s", clock(d.At, m.opt.Location)),
		fmt.Sprintf("%5s %10s %10s  %s", "FD", "READ", "WRITE", "FILENAME"))
	for _, of := range d.Files {
		lines = append(lines, fmt.Sprintf("%5d %10s %10s  %s", of.FD, size(of.Read), size(of.Write), of.Name))
	}
	return lines
}

func markWord(t *Task) string {
	switch {
	case t.Born && t.Dead:
		return " (born and dead in this interval)"
	case t.Born:
		return " (born in this interval)"
	case t.Dead:
		return " (dead in this interval)"
	}
	return ""
}

func taskList(ts []Task) string {
	if len(ts) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%d %s", t.TID, t.Name))
	}
	return fmt.Sprintf("%d: %s", len(ts), strings.Join(parts, ", "))
}

func (m *Model) renderStatus(b *strings.Builder) {
	_, n := m.layout()
	if n == 0 {
		return
	}
	w := m.w
	b.WriteString(boxTop("Status", w))
	b.WriteByte('\n')
	msgs := m.msgs
	if len(msgs) > n {
		msgs = msgs[len(msgs)-n:]
	}
	for i := range n {
		s := ""
		if i < len(msgs) {
			s = " " + msgs[i]
		}
		b.WriteString(boxLine(s, w))
		b.WriteByte('\n')
	}
	b.WriteString(boxBottom(w))
	b.WriteByte('\n')
}

// footer is the key line of LTTngTop.
var footer = []struct {
	key, label string
	view       viewID
}{
	{"F2", "CPUtop", viewCPU},
	{"F3", "PerfTop", viewPerf},
	{"F4", "IOtop", viewIO},
	{"F5", "VMs", viewVM},
	{"Enter", "Details", viewDetails},
	{"Space", "Highlight", -1},
	{"q", "Quit", -1},
	{"r", "Pref", -1},
}

// FooterText is the footer as plain text (one space between keys: it
// fits 80 columns).
func FooterText() string {
	parts := make([]string, len(footer))
	for i, f := range footer {
		parts[i] = f.key + ":" + f.label
	}
	return strings.Join(parts, " ")
}

func (m *Model) renderFooter(b *strings.Builder) {
	if p := m.prompt; p != nil {
		b.WriteString(fit(p.label+string(p.text)+"_", m.w))
		return
	}
	plain := FooterText()
	if ansi.StringWidth(plain) > m.w {
		b.WriteString(fit(plain, m.w))
		return
	}
	var sb strings.Builder
	for i, f := range footer {
		st := stKey
		if f.view == m.view || (f.key == "r" && m.pref) {
			st = stKeyOn
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(st.Render(f.key))
		sb.WriteString(":" + f.label)
	}
	pad := m.w - ansi.StringWidth(plain)
	if pad >= 8 {
		sb.WriteString(strings.Repeat(" ", pad-6) + "?:Help")
	} else {
		sb.WriteString(strings.Repeat(" ", pad))
	}
	b.WriteString(sb.String())
}

// selVM is the VM the VM view's cursor is on, nil when none.
func (m *Model) selVM() *VM {
	if m.frame == nil || len(m.frame.VMs) == 0 {
		return nil
	}
	return &m.frame.VMs[m.vmIndex()]
}

// renderVMs draws the VM view's box body: one row per VM (host CPU,
// guest and overhead shares of one CPU, steal), or the vCPUs of the
// selected VM.
func (m *Model) renderVMs(b *strings.Builder, body int) {
	w := m.w
	f := m.frame
	pct := func(ns int64) float64 {
		if f == nil || f.End <= f.Start {
			return 0
		}
		return float64(ns) * 100 / float64(f.End-f.Start)
	}
	type line struct {
		s        string
		st       *lipgloss.Style
		selected bool
	}
	var lines []line
	v := m.selVM()
	switch {
	case f == nil:
	case v == nil:
		lines = append(lines, line{s: "  No virtual machine in this interval (no QEMU vCPU thread: CPU n/TCG, n/KVM)"})
	case m.vmVCPUs:
		lines = append(lines,
			line{s: fmt.Sprintf("  host %.2f%%  guest %.2f%%  overhead %.2f%%  steal %.2f%%  (%% of one CPU)",
				pct(v.CPU), pct(v.Guest), pct(v.CPU-v.Guest), f.Steal(v))},
			line{},
			line{s: fmt.Sprintf("  %5s %8s %8s %10s %9s %8s", "VCPU", "TID", "ONCPU%", "PREEMPTED%", "BLOCKED%", "HOSTCPU"), st: &stBold})
		// More vCPUs than rows: they scroll (Up/Down/PgUp/PgDn).
		rows := max(body-len(lines), 1)
		for _, c := range v.VCPUs[min(m.vmOff, max(len(v.VCPUs)-rows, 0)):] {
			lines = append(lines, line{s: fmt.Sprintf("  %5d %8d %8.2f %10.2f %9.2f %8d", c.Index, c.TID,
				pct(c.OnCPU), pct(c.Preempted), pct(c.Blocked), c.HostCPU)})
		}
	default:
		lines = append(lines, line{s: fmt.Sprintf("  %7s %7s %7s %7s %5s %8s  %s", "HOST%", "GUEST%", "OVH%", "STEAL%", "VCPUS", "PID", "NAME"), st: &stBold})
		cur := m.vmIndex()
		for i := range f.VMs {
			x := &f.VMs[i]
			g := "  "
			if i == cur {
				g = "> "
			}
			lines = append(lines, line{s: fmt.Sprintf("%s%7.2f %7.2f %7.2f %7.2f %5d %8d  %s", g, pct(x.CPU), pct(x.Guest),
				pct(x.CPU-x.Guest), f.Steal(x), len(x.VCPUs), x.PID, x.Name), selected: i == cur})
		}
	}
	for i := range body {
		if i >= len(lines) {
			b.WriteString(boxLine("", w))
			b.WriteByte('\n')
			continue
		}
		l := lines[i]
		st := l.st
		if l.selected {
			st = &stSelected
		}
		b.WriteString(boxLineStyled(l.s, w, st))
		b.WriteByte('\n')
	}
}
