// Package tui is the top: a terminal screen, in the manner of LTTngTop,
// showing the figures of one interval of a kernel trace at a time, live or
// replayed, with time travel.
//
// The screen has a header (the interval, CPUs, threads and fds with their
// births and deaths, bandwidth, the mode word LIVE / PAUSED at T /
// REPLAY ×N / CATCHING UP, lost events and relay lag), a center view
// (CPUtop, PerfTop, IOtop, VMtop, process details, help, preferences), a status
// pane with LTTngTop's messages and a footer with the keys. The key table
// (keys.go) drives both Update and the help screen.
//
// VMtop (F5) lists Frame.VMs, the VMM processes of the interval (threads
// named "CPU n/TCG" or "CPU n/KVM"), by host CPU: host, guest and
// overhead % of one CPU and steal (Frame.Steal); Enter shows the vCPUs of
// the selected one (on CPU, preempted, blocked %, last host CPU). The
// selection follows the VM's pid from interval to interval.
//
// The figures come from a Source; the model never computes them in its
// rendering path: it asks for an interval with a command and shows the
// answer when it comes. The model can be driven without a terminal, as
// its tests do:
//
//	m := tui.New(src, tui.Options{Interval: time.Second, NoTick: true})
//	m.Update(tui.TickMsg{Now: time.Now()}) // run the returned tea.Cmd, feed its message back
//	m.Update(tea.KeyMsg{Type: tea.KeyF3})
//	fmt.Println(ansi.Strip(m.View()))
//
// The local live session (the bare tracetop) reads the folder its
// recorder writes through a Tail: the ctf reader stays open and picks up
// the packets appended to the stream files (ctf.Reader.Refresh), so the
// cost follows the event rate, not the session's length. The forward pass
// waits for new packets outside its lock (Tail.WaitReady), so frames are
// answered meanwhile; the mode word says CATCHING UP while the analysis is
// more than an interval behind the recorder's completed edge.
//
//	tail := tui.NewTail(ctx, dir, complete) // complete: the recorder's live mark
//	src, _ := tui.NewAnalysisSource(func() (ctf.Source, error) { return tail, nil },
//		tui.AnalysisOptions{Live: true, Interval: time.Second})
//
// A live source moves by slots (AnalysisOptions.Slot, default 200 ms):
// the shown interval is the last Interval ending at the newest complete
// slot, merged from the slots' figures, and the screen looks for a new
// one every half slot. With the recorder's 100 ms live timer waking the
// Tail (Tail.Wake) and the slots closed at the Tail's completion mark
// (Tail.ReadUpTo), a busy process tops CPUtop about half a second to a
// second after it starts (cmd/tracetop TestTopLiveLatency).
//
// BenchmarkTopBusyMachine prints the top's own CPU use at a 1 Hz refresh
// with 500 processes and 100 k events/s, for rendering and in all.
//
// and on a terminal:
//
//	err := tui.Run(ctx, src, tui.Options{})
package tui
