package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/tracetop/tracetop/internal/record"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/tui"
)

// topSources opens other sources the top can show besides a trace folder
// and a relay's live session: each returns ok=false for sources it does
// not handle. The first that handles a source opens it. A net:// source
// never reaches them: openTopSource opens every live URL with relaySource
// (the one path for relays, with the top's context and the session
// picker), so an entry registered for net:// is not used.
var topSources []func(source string) (open analysis.Opener, live bool, ok bool, err error)

// relaySource reads a live session of a relay (ours or lttng-relayd) from
// the oldest packet it holds; net://HOST[:PORT] alone lists the sessions
// to pick from.
func relaySource(ctx context.Context, source string) (analysis.Opener, bool, bool, error) {
	if !live.IsURL(source) {
		return nil, false, false, nil
	}
	u, err := live.ParseURL(source)
	if err != nil {
		return nil, false, true, err
	}
	if u.Session == "" {
		if source, err = pickSession(ctx, source, os.Stdin, os.Stderr); err != nil {
			return nil, false, true, err
		}
	}
	return func() (ctf.Source, error) {
		return live.Open(ctx, source, live.Options{Beginning: true})
	}, true, true, nil
}

// pickSession lists the sessions of a relay and, on a terminal, asks
// which one to show; elsewhere it fails with the list.
func pickSession(ctx context.Context, relay string, in *os.File, out io.Writer) (string, error) {
	u, ls, err := live.List(ctx, relay, 0)
	if err != nil {
		return "", err
	}
	if len(ls) == 0 {
		return "", fmt.Errorf("%s: the relay has no session", relay)
	}
	var b strings.Builder
	for i, l := range ls {
		fmt.Fprintf(&b, "  %d) %s\n", i+1, u.Line(l))
	}
	if in == nil || !term.IsTerminal(in.Fd()) {
		return "", fmt.Errorf("%s: pick a session:\n%s(tracetop top net://HOST[:PORT]/host/HOSTNAME/SESSION)", relay, b.String())
	}
	fmt.Fprintf(out, "Sessions of %s:\n%s", relay, b.String())
	r := bufio.NewReader(in)
	for {
		fmt.Fprintf(out, "Which one [1-%d]? ", len(ls))
		line, err := r.ReadString('\n')
		if n, e := strconv.Atoi(strings.TrimSpace(line)); e == nil && n >= 1 && n <= len(ls) {
			l := ls[n-1]
			u.Hostname, u.Session = l.Hostname, l.Name
			return u.String(), nil
		}
		if err != nil {
			return "", fmt.Errorf("%s: no session picked", relay)
		}
	}
}

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

// openTopSource opens a trace folder or a registered live source; ctx
// stops a live read (cancel it before closing the source).
func openTopSource(ctx context.Context, source string, o *topOptions) (*tui.AnalysisSource, error) {
	open := analysis.Opener(func() (ctf.Source, error) { return ctf.Open([]string{source}, ctf.Options{}) })
	isLive := false
	if op, lv, ok, err := relaySource(ctx, source); ok {
		if err != nil {
			return nil, err
		}
		open, isLive = op, lv
	} else {
		for _, try := range topSources {
			op, lv, ok, err := try(source)
			if err != nil {
				return nil, err
			}
			if ok {
				open, isLive = op, lv
				break
			}
		}
	}
	aopt := tui.AnalysisOptions{Live: isLive, Interval: o.interval, Slot: o.delay}
	var src atomic.Pointer[tui.AnalysisSource]
	if isLive {
		// How far the newest event is behind real time (LTTng clocks
		// count from the epoch).
		aopt.Lag = func() time.Duration {
			if s := src.Load(); s != nil {
				if _, last, ok := s.Span(); ok && last > 0 {
					return max(time.Since(time.Unix(0, last)).Truncate(100*time.Millisecond), 0)
				}
			}
			return 0
		}
	}
	s, err := tui.NewAnalysisSource(open, aopt)
	if err != nil {
		return nil, err
	}
	src.Store(s)
	return s, nil
}

// runTopUI shows the interactive top on one source.
func runTopUI(source string, o *topOptions) error {
	if o.interval < tui.MinInterval || o.interval > tui.MaxInterval {
		return fmt.Errorf("--interval %v: must be between %v and %v", o.interval, tui.MinInterval, tui.MaxInterval)
	}
	if err := o.checkDelay(); err != nil {
		return err
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	src, err := openTopSource(ctx, source, o)
	if err != nil {
		return err
	}
	defer src.Close()
	defer stop() // a live read stops before the source closes
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
	if err := o.checkDelay(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	return runLocalSession(program, o)
}

// runTextdump prints the system calls of the selection, strace-like, to
// standard output or --output.
func runTextdump(source string, o *topOptions) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	open, err := batch.Opener(ctx, []string{source})
	if err != nil {
		return err
	}
	src, err := open()
	if err != nil {
		return err
	}
	defer src.Close()
	defer stop()
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
	if path := os.Getenv("TRACETOP_CPUPROFILE"); path != "" {
		// Where the live top's CPU goes (recorder, reader, figures, screen).
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	cleanStaleLiveDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("tracetop-live-%d-", os.Getpid()))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var mu sync.Mutex
	complete := map[string]record.Timestamp{}
	nstreams := 0 // set once the recorder runs
	var notified record.Timestamp
	wake := make(chan struct{}, 1)
	rec, err := record.New(record.Config{
		Session:   fmt.Sprintf("tracetop-live-%d", os.Getpid()),
		OutputDir: dir,
		// The top's own system calls (reading its trace) stay out, unless
		// it starts a program: the kernel would leave its children out too.
		LeaveOutSelf: len(program) == 0,
		Channels: []record.Channel{{
			Events:   []string{"sched_switch", "sched_process_*", "sched_wakeup", "sched_wakeup_new", "sched_migrate_task", "block_rq_*"},
			Syscalls: []string{"*"},
			// Every stream flushes and says how far it is complete this
			// often: the first link of the screen's latency.
			LiveTimer: liveTimer,
		}},
		Live: func(stream string, c record.Timestamp) {
			mu.Lock()
			complete[stream] = c
			// Wake the reader when the mark of every stream moved.
			m := c
			for _, x := range complete {
				m = min(m, x)
			}
			move := nstreams > 0 && len(complete) >= nstreams && m > notified
			if move {
				notified = m
			}
			mu.Unlock()
			if move {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
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
	// Every stream is complete up to the oldest of their marks, once every
	// stream has given one (before, a stream not heard of may still hold
	// older events).
	mu.Lock()
	nstreams = len(rec.Stats())
	mu.Unlock()
	limit := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		if len(complete) < nstreams {
			return 0
		}
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
	tail.Wake = wake
	if o.textdump {
		return liveTextdump(ctx, tail, program, o)
	}
	src, err := tui.NewAnalysisSource(func() (ctf.Source, error) { return tail, nil },
		tui.AnalysisOptions{Live: true, Interval: o.interval, Slot: o.delay})
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
	if path := os.Getenv("TRACETOP_STATS"); path != "" {
		// The top's own cost, for bench/top.sh: how long it ran, the
		// events recorded and lost, its CPU time.
		t0, cpu0 := time.Now(), processCPU()
		defer func() {
			var n, lost uint64
			for _, st := range rec.Stats() {
				n, lost = n+st.Events, lost+st.Lost
			}
			os.WriteFile(path, fmt.Appendf(nil, "seconds %.3f\nevents %d\nlost %d\ncpu %.3f\n",
				time.Since(t0).Seconds(), n, lost, (processCPU()-cpu0).Seconds()), 0o644)
		}()
	}
	return tui.Run(sctx, src, opt)
}

// cleanStaleLiveDirs removes the recording folders of live tops that
// were killed (named tracetop-live-PID-*, PID no longer running): a top
// that ends normally removes its own.
func cleanStaleLiveDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "tracetop-live-*-*"))
	for _, d := range dirs {
		f := strings.SplitN(strings.TrimPrefix(filepath.Base(d), "tracetop-live-"), "-", 2)
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// processCPU is the CPU time (user + system) of this process so far.
func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveTimer is the live timer of the in-process recorder: each stream
// writes its packet and tells how far it is complete this often. With the
// reader woken by the mark, the analysis' slot (tui.DefaultSlot) and the
// screen's refresh, a busy process tops CPUtop about a second after it
// starts (TestTopLiveLatency).
const liveTimer = 100 * time.Millisecond

// liveTextdump prints the system calls of a program started under
// tracing, and of its children, from its first instruction (the child's
// side of the fork, the exec) to its exit; without a program, those of
// the selection until Ctrl-C.
func liveTextdump(ctx context.Context, tail *tui.Tail, program []string, o *topOptions) error {
	out, closeOut, err := outputFile(o.output)
	if err != nil {
		return err
	}
	defer closeOut()
	w := bufio.NewWriter(out)
	defer w.Flush()
	sel := batch.TextdumpOptions{PIDs: o.pids, Names: o.names, Children: o.children, Location: time.Local}
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-sctx.Done()
		tail.StopAt(monotonicNow()) // drain what was recorded, then end
	}()
	var exitErr error
	if len(program) > 0 {
		cmd := exec.Command(program[0], program[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", program[0], err)
		}
		sel.PIDs, sel.Children = []int{cmd.Process.Pid}, true
		done := make(chan struct{})
		go func() {
			exitErr = cmd.Wait()
			tail.StopAt(monotonicNow())
			close(done)
		}()
		defer func() { cmd.Process.Kill(); <-done }()
	}
	if err := batch.Textdump(w, tail, sel); err != nil {
		return err
	}
	if ee, ok := exitErr.(*exec.ExitError); ok {
		return &exitError{ee.ExitCode()}
	}
	return nil
}

// monotonicNow is CLOCK_MONOTONIC in ns, the recorder's clock.
func monotonicNow() uint64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// checkDelay checks --delay: a live screen moves at most once per 10 ms
// and at least once per interval.
func (o *topOptions) checkDelay() error {
	if o.delay == 0 {
		return nil // tui.DefaultSlot, at most the interval
	}
	if o.delay < tui.MinInterval || o.delay > o.interval {
		return fmt.Errorf("--delay %v: must be between %v and the interval (%v)", o.delay, tui.MinInterval, o.interval)
	}
	return nil
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
