package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/state"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/tui"
)

// topUIOptions are the flags of the interactive top, with LTTngTop's names.
type topUIOptions struct {
	pids     []int
	names    []string
	children bool
	begin    string
	textdump bool
	output   string
	relay    string
	interval time.Duration
	speed    float64
}

// topSources opens the sources the top can show besides a trace folder
// (net://HOST/host/H/S from a relay): each returns ok=false for sources it
// does not handle. The live client registers itself here.
var topSources []func(source string) (open analysis.Opener, live bool, ok bool, err error)

const topKeysHelp = `
The screen: a header (the interval shown, CPUs, threads and fds with their
births (+) and deaths (-), read/write bandwidth, the mode: LIVE, PAUSED at T,
REPLAY ×N or CATCHING UP, lost events and relay lag), a view (CPUtop,
PerfTop, IOtop, process details), a status pane and the keys.

`

// addTopUIFlags adds the interactive top's flags to a command, skipping
// any name or shorthand the command already has.
func addTopUIFlags(f *pflag.FlagSet, o *topUIOptions) {
	free := func(name, short string) string {
		if f.Lookup(name) != nil {
			return "-"
		}
		if short != "" && f.ShorthandLookup(short) != nil {
			return ""
		}
		return short
	}
	add := func(name, short string, fn func(short string)) {
		if s := free(name, short); s != "-" {
			fn(s)
		}
	}
	add("pid", "p", func(s string) { f.IntSliceVarP(&o.pids, "pid", s, nil, "show only these processes (PID[,PID...])") })
	add("procname", "n", func(s string) {
		f.StringSliceVarP(&o.names, "procname", s, nil, "show only the processes with these names (NAME[,NAME...])")
	})
	add("child", "f", func(s string) {
		f.BoolVarP(&o.children, "child", s, false, "with -p or -n, show their children too")
	})
	add("begin", "b", func(s string) {
		f.StringVarP(&o.begin, "begin", s, "", "start at this time: hh:mm:ss[.ns] or +offset from the first event")
	})
	add("textdump", "t", func(s string) {
		f.BoolVarP(&o.textdump, "textdump", s, false, "print the system calls of the selected processes as text (strace-like) instead of the screen")
	})
	add("output", "o", func(s string) { f.StringVarP(&o.output, "output", s, "", "write the text dump to this file") })
	add("relay", "r", func(s string) {
		f.StringVarP(&o.relay, "relay", s, "", "show a live session of this relay (HOST[:PORT])")
	})
	add("interval", "i", func(s string) {
		f.DurationVarP(&o.interval, "interval", s, time.Second, "length of an interval (10ms to 10m)")
	})
	add("speed", "", func(string) { f.Float64Var(&o.speed, "speed", 1, "replay speed of a recorded trace") })
}

// readFlags takes the values of flags the command defined itself (shared
// with its batch mode) instead of addTopUIFlags.
func (o *topUIOptions) readFlags(f *pflag.FlagSet) {
	changed := func(name string) bool { fl := f.Lookup(name); return fl != nil && fl.Changed }
	if changed("pid") {
		o.pids, _ = f.GetIntSlice("pid")
	}
	if changed("procname") {
		o.names, _ = f.GetStringSlice("procname")
	}
	if changed("child") {
		o.children, _ = f.GetBool("child")
	}
	if changed("begin") {
		o.begin, _ = f.GetString("begin")
	}
	if changed("interval") {
		o.interval, _ = f.GetDuration("interval")
	}
	if o.interval == 0 {
		o.interval = time.Second
	}
	if o.speed == 0 {
		o.speed = 1
	}
}

func (o *topUIOptions) tuiOptions() tui.Options {
	opt := tui.Options{Interval: o.interval, Speed: o.speed, BeginAt: o.begin, Names: o.names, Children: o.children}
	for _, p := range o.pids {
		opt.PIDs = append(opt.PIDs, int32(p))
	}
	return opt
}

// openTopSource opens a trace folder or a registered live source.
func openTopSource(source string, o *topUIOptions) (*tui.AnalysisSource, error) {
	open := analysis.Opener(func() (ctf.Source, error) { return ctf.Open([]string{source}, ctf.Options{}) })
	live := false
	handled := false
	for _, try := range topSources {
		op, lv, ok, err := try(source)
		if err != nil {
			return nil, err
		}
		if ok {
			open, live, handled = op, lv, true
			break
		}
	}
	if !handled && strings.HasPrefix(source, "net://") {
		return nil, fmt.Errorf("%s: live sessions from a relay are not supported by this build yet; record with `tracetop create` and show the trace folder with `tracetop top DIR`", source)
	}
	return tui.NewAnalysisSource(open, tui.AnalysisOptions{Live: live, Interval: o.interval})
}

// runTopUI shows the interactive top on one source.
func runTopUI(source string, o *topUIOptions) error {
	if o.interval < tui.MinInterval || o.interval > tui.MaxInterval {
		return fmt.Errorf("--interval %v: must be between %v and %v", o.interval, tui.MinInterval, tui.MaxInterval)
	}
	if o.relay != "" {
		source = "net://" + o.relay
	}
	if o.textdump {
		return runTextdump(source, o)
	}
	if !term.IsTerminal(os.Stdout.Fd()) || !term.IsTerminal(os.Stdin.Fd()) {
		return fmt.Errorf("the top needs a terminal; for text output use `tracetop top --batch %s`", source)
	}
	src, err := openTopSource(source, o)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	return tui.Run(ctx, src, o.tuiOptions())
}

// errNeedRoot explains how to run the live top.
var errNeedRoot = errors.New(`the live top of this machine needs root (it reads the kernel's tracefs and loads eBPF programs).
Run it as root:
    sudo tracetop
or show a recorded trace, which needs no privilege:
    tracetop top TRACE_DIR`)

func init() {
	var o topUIOptions
	addTopUIFlags(rootCmd.Flags(), &o)
	rootCmd.Use = "tracetop [flags] [-- PROGRAM ARGS...]"
	rootCmd.Long += "\n\nWith `-- PROGRAM ARGS`, it starts PROGRAM under tracing and shows it and its\nchildren from their first instruction.\n" + topKeysHelp + tui.HelpText()
	rootCmd.RunE = func(cmd *cobra.Command, args []string) error {
		if o.relay != "" {
			return runTopUI("", &o)
		}
		if dash := cmd.ArgsLenAtDash(); dash < 0 && len(args) > 0 {
			return fmt.Errorf("unknown command %q (see tracetop --help; to start a program: tracetop -- %s)", args[0], strings.Join(args, " "))
		}
		return runLocalTop(args, &o)
	}
	wireTopCommand()
}

// wireTopCommand gives `tracetop top` its interactive mode: the batch mode
// keeps the command's own RunE; without --batch the screen is shown.
func wireTopCommand() {
	var o topUIOptions
	var top *cobra.Command
	for _, c := range rootCmd.Commands() {
		if c.Name() == "top" {
			top = c
		}
	}
	if top == nil {
		top = &cobra.Command{
			Use:   "top [flags] TRACE_DIR | net://HOST[:PORT]/host/HOSTNAME/SESSION",
			Short: "the top on a recorded trace, replayed at its pace, or on a live session",
			Args:  cobra.MaximumNArgs(1),
		}
		rootCmd.AddCommand(top)
	}
	top.Long = `top shows, as LTTngTop did, the figures of one interval at a time of a
kernel trace: CPU use per thread (CPUtop), perf counters (PerfTop), I/O per
process and per file (IOtop), and the details of a process with its open
files. A recorded trace is replayed at the pace it happened, from its start
or --begin; the keys move in time (Left, Right, g), pause (p), change the
interval (i) and the speed (x).
` + topKeysHelp + tui.HelpText()
	addTopUIFlags(top.Flags(), &o)
	batch := top.RunE
	top.RunE = func(cmd *cobra.Command, args []string) error {
		if b := cmd.Flags().Lookup("batch"); b != nil && b.Changed && batch != nil {
			return batch(cmd, args)
		}
		if len(args) == 0 && o.relay == "" {
			return errors.New("top: which trace? tracetop top TRACE_DIR (or net://HOST/host/H/S); `tracetop` alone shows this machine live")
		}
		o.readFlags(cmd.Flags())
		src := ""
		if len(args) > 0 {
			src = args[0]
		}
		return runTopUI(src, &o)
	}
}

// runLocalTop is the bare `tracetop`: a live session of this machine, run
// in-process.
func runLocalTop(program []string, o *topUIOptions) error {
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	return runLocalSession(program, o)
}

// runTextdump prints the system calls of the selected processes, one line
// per call as strace does (time, thread, call, arguments known, return
// value), to standard output or --output.
func runTextdump(source string, o *topUIOptions) error {
	if strings.HasPrefix(source, "net://") {
		return fmt.Errorf("%s: --textdump reads trace folders", source)
	}
	src, err := ctf.Open([]string{source}, ctf.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	out := os.Stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	pids := map[state.PID]bool{}
	for _, p := range o.pids {
		pids[state.PID(p)] = true
	}
	names := map[string]bool{}
	for _, n := range o.names {
		names[n] = true
	}
	m := state.New()
	keep := func(t *state.Thread) bool {
		if len(pids) == 0 && len(names) == 0 {
			return true
		}
		pid := t.PID
		if pid == 0 {
			pid = state.PID(t.TID)
		}
		for range 64 {
			p := m.Process(pid)
			if pids[pid] || (p != nil && names[p.Comm]) || names[t.Comm] {
				return true
			}
			if !o.children || p == nil || p.PPID <= 0 || p.PPID == pid {
				return false
			}
			pid = p.PPID
		}
		return false
	}
	retIdx := map[*meta.Event]int{}
	var ev ctf.Event
	for {
		if err := src.Read(&ev); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if ev.Kind != ctf.KindEvent || !strings.HasPrefix(ev.Class.Name, "syscall_exit_") || ev.Stream == nil {
			m.Apply(&ev)
			continue
		}
		var th *state.Thread
		for _, c := range m.CPUs() {
			if int(c.ID) == ev.Stream.CPU && c.Current > 0 {
				th = m.Thread(c.Current)
			}
		}
		if th != nil && keep(th) {
			ri, ok := retIdx[ev.Class]
			if !ok {
				ri = -1
				if ev.Class.Payload != nil {
					ri = ev.Class.Payload.FieldIndex("ret")
					if ri < 0 {
						ri = ev.Class.Payload.FieldIndex("_ret") // TSDL's escape of a keyword-like name
					}
				}
				retIdx[ev.Class] = ri
			}
			ret := "?"
			if v := ev.Field(meta.ScopeEventPayload, ri); v != nil {
				ret = strconv.FormatInt(v.Int(), 10)
			}
			sc := th.Syscall
			var args []string
			if sc.FD >= 0 && sc.Name != "" {
				args = append(args, strconv.Itoa(int(sc.FD)))
			}
			if sc.Path != "" {
				args = append(args, strconv.Quote(sc.Path))
			}
			t := time.Unix(0, ev.NS)
			fmt.Fprintf(w, "%s.%09d %s(%d) %s(%s) = %s\n", t.Format("15:04:05"), t.Nanosecond(), th.Comm, th.TID,
				strings.TrimPrefix(ev.Class.Name, "syscall_exit_"), strings.Join(args, ", "), ret)
		}
		m.Apply(&ev)
	}
	return nil
}

// runLocalSession records this machine into a temporary folder and shows
// it live: recorder, reader and figures in this process, all removed on
// exit. With a program, the program is started once tracing runs and the
// top shows it and its children.
func runLocalSession(program []string, o *topUIOptions) error {
	o.readDefaults()
	dir, err := os.MkdirTemp("", "tracetop-live-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var mu sync.Mutex
	complete := map[string]record.Timestamp{}
	rec, err := record.New(record.Config{
		Session:   fmt.Sprintf("tracetop-live-%d", os.Getpid()),
		OutputDir: dir,
		Channels: []record.Channel{{
			Events:    []string{"sched_switch", "sched_process_*", "sched_wakeup", "sched_wakeup_new", "sched_migrate_task", "block_rq_*"},
			Syscalls:  []string{"*"},
			LiveTimer: 200 * time.Millisecond,
		}},
		Live: func(stream string, c record.Timestamp) {
			mu.Lock()
			complete[stream] = c
			mu.Unlock()
		},
	})
	if errors.Is(err, record.ErrNotRoot) {
		return errNeedRoot
	}
	if err != nil {
		return err
	}
	defer rec.Destroy()
	if err := rec.Start(); err != nil {
		return err
	}
	defer rec.Stop()
	// Every stream is complete up to the oldest of their marks.
	limit := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		var m uint64
		for _, c := range complete {
			if m == 0 || uint64(c) < m {
				m = uint64(c)
			}
		}
		return m
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := tui.NewTail(ctx, filepath.Join(dir, "kernel"), limit)
	src, err := tui.NewAnalysisSource(func() (ctf.Source, error) { return tail, nil },
		tui.AnalysisOptions{Live: true, Interval: o.interval})
	if err != nil {
		return err
	}
	defer func() { cancel(); src.Close() }()
	opt := o.tuiOptions()
	if len(program) > 0 {
		cmd := exec.Command(program[0], program[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", program[0], err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		opt.PIDs, opt.Children = []int32{int32(cmd.Process.Pid)}, true
	}
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	return tui.Run(sctx, src, opt)
}

// readDefaults fills what the flags leave unset.
func (o *topUIOptions) readDefaults() {
	if o.interval == 0 {
		o.interval = time.Second
	}
	if o.speed == 0 {
		o.speed = 1
	}
}
