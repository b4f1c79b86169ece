package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/tracetop/tracetop/internal/record"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/tui"
)

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

func (o *topOptions) tuiOptions() tui.Options {
	opt := tui.Options{Interval: o.interval, Speed: o.speed, BeginAt: o.begin, Names: o.names, Children: o.children}
	for _, p := range o.pids {
		opt.PIDs = append(opt.PIDs, int32(p))
	}
	return opt
}

// openTopSource opens a trace folder or a registered live source.
func openTopSource(source string, o *topOptions) (*tui.AnalysisSource, error) {
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
func runTopUI(source string, o *topOptions) error {
	if o.interval < tui.MinInterval || o.interval > tui.MaxInterval {
		return fmt.Errorf("--interval %v: must be between %v and %v", o.interval, tui.MinInterval, tui.MaxInterval)
	}
	if o.relay != "" {
		source = relayURL(o.relay)
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
	o := &topOptions{}
	addTopFlags(rootCmd.Flags(), o, false)
	rootCmd.Use = "tracetop [flags] [-- PROGRAM ARGS...]"
	rootCmd.Long += "\n\nWith no argument, it shows this machine live (root). With `-- PROGRAM ARGS`, it\nstarts PROGRAM under tracing and shows it and its children from their first\ninstruction. See `tracetop help top` for the screen, its keys and options.\n"
	rootCmd.RunE = func(cmd *cobra.Command, args []string) error {
		if o.relay != "" {
			return runTopUI("", o)
		}
		if dash := cmd.ArgsLenAtDash(); dash < 0 && len(args) > 0 {
			return fmt.Errorf("unknown command %q (see tracetop --help; to start a program: tracetop -- %s)", args[0], strings.Join(args, " "))
		}
		return runLocalTop(args, o)
	}
}

// runLocalTop is the bare `tracetop`: a live session of this machine, run
// in-process.
func runLocalTop(program []string, o *topOptions) error {
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	return runLocalSession(program, o)
}

// runTextdump prints the system calls of the selection, strace-like, to
// standard output or --output.
func runTextdump(source string, o *topOptions) error {
	if strings.HasPrefix(source, "net://") {
		return fmt.Errorf("%s: --textdump reads trace folders", source)
	}
	src, err := ctf.Open([]string{source}, ctf.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	out, closeOut, err := outputFile(o.output)
	if err != nil {
		return err
	}
	defer closeOut()
	w := bufio.NewWriter(out)
	topt, err := o.textdumpOptions(source)
	if err != nil {
		return err
	}
	if err := batch.Textdump(w, src, topt); err != nil {
		w.Flush()
		return err
	}
	return w.Flush()
}

// textdumpOptions reads the selection and --begin of the text dump.
func (o *topOptions) textdumpOptions(source string) (batch.TextdumpOptions, error) {
	t := batch.TextdumpOptions{PIDs: o.pids, Names: o.names, Children: o.children}
	if o.begin != "" {
		first, err := batch.FirstTime([]string{source})
		if err != nil {
			return t, err
		}
		if t.Begin, err = batch.ParseTime(o.begin, first); err != nil {
			return t, err
		}
	}
	return t, nil
}

// runLocalSession records this machine into a temporary folder and shows
// it live: recorder, reader and figures in this process, all removed on
// exit. With a program, the program is started once tracing runs and the
// top shows it and its children.
func runLocalSession(program []string, o *topOptions) error {
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
func (o *topOptions) readDefaults() {
	if o.interval == 0 {
		o.interval = time.Second
	}
	if o.speed == 0 {
		o.speed = 1
	}
}
