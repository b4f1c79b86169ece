package tui

import (
	"fmt"
	"strings"
)

// action is what a key does.
type action int

const (
	actNone action = iota
	actHelp
	actCPU
	actPerf
	actIO
	actDetails
	actHighlight
	actPref
	actQuit
	actUp
	actDown
	actPageUp
	actPageDown
	actHome
	actEnd
	actPause
	actPrev
	actNext
	actGoto
	actInterval
	actSpeed
	actLive
	actHighlightedOnly
	actChildren
	actNameFilter
	actSearch
	actSearchNext
	actContainer
	actVPID
	actSortPrev
	actSortNext
	actInvert
	actThreads
	actIOFiles
	actVM
)

// binding ties keys (as tea.KeyMsg.String() spells them) to an action;
// the help screen is made from this table, so it cannot drift.
type binding struct {
	keys []string
	act  action
	help string
}

// bindings is the key table of the top, in help-screen order. Every F-key
// has a letter alias.
var bindings = []binding{
	{[]string{"f1", "?", "h"}, actHelp, "this help (any key closes it)"},
	{[]string{"f2", "C"}, actCPU, "CPUtop: threads by CPU use"},
	{[]string{"f3", "P"}, actPerf, "PerfTop: one column per perf counter of the trace"},
	{[]string{"f4", "O"}, actIO, "IOtop: read/write rates, by process (Tab: by file)"},
	{[]string{"f5", "V"}, actVM, "VMtop: virtual machines, host/guest/steal % (Enter: vCPUs)"},
	{[]string{"enter", "d"}, actDetails, "details of the selected process (again: back)"},
	{[]string{" "}, actHighlight, "highlight the selected process in every view"},
	{[]string{"r", "f6"}, actPref, "preferences: columns shown, sort column"},
	{[]string{"q", "f10", "ctrl+c"}, actQuit, "quit"},
	{[]string{"up", "k"}, actUp, "select the previous line"},
	{[]string{"down", "j"}, actDown, "select the next line"},
	{[]string{"pgup"}, actPageUp, "previous page"},
	{[]string{"pgdown"}, actPageDown, "next page"},
	{[]string{"home"}, actHome, "first line"},
	{[]string{"end"}, actEnd, "last line"},
	{[]string{"p"}, actPause, "pause / resume"},
	{[]string{"left"}, actPrev, "previous interval (pauses)"},
	{[]string{"right"}, actNext, "next interval (at the newest: compute the next)"},
	{[]string{"g"}, actGoto, "go to a time (hh:mm:ss[.ns], +offset from the start)"},
	{[]string{"i"}, actInterval, "interval length, 10ms to 10m (recomputed)"},
	{[]string{"x"}, actSpeed, "replay speed (x1 x2 x5 x10 x100 x0.5)"},
	{[]string{"}"}, actLive, "back to the live edge (a recorded trace: its end)"},
	{[]string{"f"}, actHighlightedOnly, "show the highlighted processes only"},
	{[]string{"F"}, actChildren, "this process only / with its children / all"},
	{[]string{"\\"}, actNameFilter, "filter by name (empty: no filter)"},
	{[]string{"/"}, actSearch, "search a name, select it"},
	{[]string{"n"}, actSearchNext, "next match of the search"},
	{[]string{"N"}, actContainer, "this container only / with nested ones / all"},
	{[]string{"v"}, actVPID, "show VPID/VTID columns"},
	{[]string{"<"}, actSortPrev, "sort by the previous column"},
	{[]string{">"}, actSortNext, "sort by the next column"},
	{[]string{"I"}, actInvert, "invert the sort order"},
	{[]string{"t"}, actThreads, "threads / processes (threads summed)"},
	{[]string{"tab"}, actIOFiles, "IOtop: by process / by file and socket"},
}

var keyAction = func() map[string]action {
	m := make(map[string]action)
	for _, b := range bindings {
		for _, k := range b.keys {
			if _, dup := m[k]; dup {
				panic("tui: key bound twice: " + k)
			}
			m[k] = b.act
		}
	}
	return m
}()

// keyName spells a key as the help and the footer show it.
func keyName(k string) string {
	switch k {
	case " ":
		return "Space"
	case "enter":
		return "Enter"
	case "pgup":
		return "PgUp"
	case "pgdown":
		return "PgDn"
	case "ctrl+c":
		return "Ctrl-C"
	case "tab":
		return "Tab"
	}
	if len(k) >= 2 && k[0] == 'f' && k[1] >= '0' && k[1] <= '9' {
		return "F" + k[1:]
	}
	if len(k) > 1 {
		return strings.ToUpper(k[:1]) + k[1:]
	}
	return k
}

// helpLines renders the key table.
func helpLines() []string {
	lines := make([]string, 0, len(bindings))
	for _, b := range bindings {
		names := make([]string, len(b.keys))
		for i, k := range b.keys {
			names[i] = keyName(k)
		}
		lines = append(lines, fmt.Sprintf("%-16s %s", strings.Join(names, " "), b.help))
	}
	return lines
}

// HelpText is the key table as plain text, for the command's long help.
func HelpText() string {
	return "Keys:\n  " + strings.Join(helpLines(), "\n  ") + "\n"
}
