package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracetop/tracetop/internal/batch"
	"github.com/tracetop/tracetop/internal/tui"
)

// topOptions are the flags of `tracetop top` and of the bare `tracetop`:
// one struct serves the screen, the batch mode and the text dump, so a
// flag is defined once and read by every mode.
type topOptions struct {
	// LTTngTop's options.
	pids     []int
	names    []string
	children bool
	begin    string
	textdump bool
	output   string
	relay    string
	// The screen.
	interval time.Duration
	delay    time.Duration
	speed    float64
	// The batch mode.
	batch bool
	end   string
	json  bool
	limit int
}

// addTopFlags defines the flags of o on f; withBatch adds the batch-only
// ones (the bare tracetop has no batch mode).
func addTopFlags(f *pflag.FlagSet, o *topOptions, withBatch bool) {
	f.IntSliceVarP(&o.pids, "pid", "p", nil, "show only these processes (PID[,PID...])")
	f.StringSliceVarP(&o.names, "procname", "n", nil, "show only the processes with these names (NAME[,NAME...])")
	f.BoolVarP(&o.children, "child", "f", false, "with -p or -n, show their children too")
	f.StringVarP(&o.begin, "begin", "b", "", "start at this time: ns, hh:mm:ss[.ns] or +offset from the first event")
	f.BoolVarP(&o.textdump, "textdump", "t", false, "print the system calls of the selection as text, strace-like, instead of the screen")
	f.StringVarP(&o.output, "output", "o", "", "write the text dump (or the batch output) to this file")
	f.StringVarP(&o.relay, "relay", "r", "", "show a live session of this relay (HOST[:PORT][/host/H/S])")
	f.DurationVarP(&o.interval, "interval", "i", time.Second, "length of an interval: 10ms to 10m on the screen (with --batch, 0: one interval for the whole selection)")
	f.DurationVarP(&o.delay, "delay", "d", 0, "how often a live screen moves to the newest interval, like top -d: 10ms to the interval (default 200ms, at most the interval)")
	f.Float64Var(&o.speed, "speed", 1, "replay speed of a recorded trace")
	if withBatch {
		f.BoolVar(&o.batch, "batch", false, "print the figures of each interval as text (like top -b) instead of the screen")
		f.StringVarP(&o.end, "end", "e", "", "with --batch, stop at this time: ns, hh:mm:ss[.ns] or +offset from the first event")
		f.BoolVar(&o.json, "json", false, "with --batch, one JSON object per interval")
		f.IntVar(&o.limit, "limit", 20, "with --batch, rows per table")
	}
}

// batchOptions turns the flags into batch.Options.
func (o *topOptions) batchOptions(args []string) batch.Options {
	return batch.Options{Sources: args, Begin: o.begin, End: o.end, JSON: o.json, Limit: o.limit,
		PIDs: o.pids, Names: o.names, Children: o.children, Interval: o.interval}
}

// newTopCmd builds `tracetop top` and the options its flags fill.
func newTopCmd() (*cobra.Command, *topOptions) {
	o := &topOptions{}
	cmd := &cobra.Command{
		Use:     "top [flags] TRACE_DIR | net://HOST[:PORT][/host/HOSTNAME/SESSION] | -- PROGRAM [ARGS...]",
		Short:   "the top on a recorded trace or a live session; --batch prints it as text or JSON",
		Long:    topManual + topKeys(),
		Example: topExamples,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				if dash > 0 {
					return fmt.Errorf("top: give either a trace or -- PROGRAM, not both (%s)", args[0])
				}
				if o.batch {
					return errors.New("top: --batch reads a recorded trace; record the program first, or use --textdump")
				}
				return runLocalTop(args, o)
			}
			if len(args) > 1 {
				return fmt.Errorf("top: one trace at a time (got %d); tracetop top TRACE_DIR", len(args))
			}
			if o.batch {
				if len(args) == 0 && o.relay == "" {
					return errors.New("top: which trace? tracetop top --batch TRACE_DIR")
				}
				if len(args) == 0 {
					args = []string{relayURL(o.relay)}
				}
				w, closeOut, err := outputFile(o.output)
				if err != nil {
					return err
				}
				defer closeOut()
				batchGC()
				return batch.Run(w, o.batchOptions(args))
			}
			if len(args) == 0 && o.relay == "" {
				return errors.New("top: which trace? tracetop top TRACE_DIR (or net://HOST/host/H/S); `tracetop` alone shows this machine live")
			}
			src := ""
			if len(args) > 0 {
				src = args[0]
			}
			return runTopUI(src, o)
		},
	}
	addTopFlags(cmd.Flags(), o, true)
	return cmd, o
}

// batchGC sets the collector for the batch mode, unless GOGC or
// GOMEMLIMIT say otherwise. Its heap is mostly the kernel model, which
// lives to the end: collecting it at every doubling cost a third of a
// short trace's run. No collection at all until the heap reaches 64 MiB
// (a small trace is read before a collection would end), then one at
// every 400 % growth.
func batchGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(64 << 20)
	// The first collection (the limit reached) runs the cleanup of an
	// object nobody holds, which hands over to the percentage.
	runtime.AddCleanup(new([16]byte), func(struct{}) {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}

// outputFile opens -o FILE, or returns standard output.
func outputFile(path string) (*os.File, func(), error) {
	if path == "" {
		return os.Stdout, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// relayURL makes a net:// URL of -r HOST[:PORT][/host/H/S].
func relayURL(r string) string {
	if r == "" || len(r) > 6 && r[:6] == "net://" {
		return r
	}
	return "net://" + r
}

func init() {
	cmd, _ := newTopCmd()
	rootCmd.AddCommand(cmd)
}

// topManual is the man-style help of `tracetop top` (tracetop help top):
// the keys come from the screen's own key table.
var topManual = `NAME
    tracetop top - the top of a Linux machine from its kernel trace, live or recorded

SYNOPSIS
    tracetop top [OPTIONS] TRACE_DIR
    tracetop top [OPTIONS] net://HOST[:PORT]/host/HOSTNAME/SESSION
    tracetop top [OPTIONS] net://HOST[:PORT]        (lists the sessions to pick from)
    tracetop top [OPTIONS] -- PROGRAM [ARGS...]     (root: trace PROGRAM from its first instruction)
    tracetop top --batch [--interval D] [--begin T] [--end T] [--json] TRACE_DIR
    tracetop [OPTIONS] [-- PROGRAM [ARGS...]]       (root: this machine, live)

DESCRIPTION
    As LTTngTop did, top shows the figures of one interval at a time of a
    kernel trace: CPU use per thread (CPUtop), perf counters (PerfTop), I/O
    per process and per file (IOtop), virtual machines (VMtop: QEMU
    processes with their vCPU threads, host, guest, overhead and steal %),
    and the details of a process with its open files. A recorded trace is replayed at the pace it happened,
    from its start or --begin; a live session follows its newest events.
    The keys move in time (Left, Right, g), pause (p), change the interval
    (i) and the replay speed (x).

    The header shows the interval [start, end[, the CPUs, the threads and
    fds with their births (+) and deaths (-), the read/write bandwidth, the
    mode (LIVE, PAUSED at T, REPLAY xN, CATCHING UP when the analysis lags
    behind the live edge), the events lost and the relay lag when not zero.

    --batch prints each interval's figures as text, like top -b, or as one
    JSON object per interval (--json). Intervals are [t1, t2[ exactly as
    asked; when the trace ends before --end, the last one ends at the last
    event and says so. An interval with virtual machines (QEMU processes
    with vCPU threads) adds their figures: a VMs section, a "VMs" member.

    --textdump prints the system calls of the selection (-p, -n, -f) as
    strace does: time, thread, call with its decoded arguments, return
    value and time spent inside.

TIMES
    T is nanoseconds from the clock origin, hh:mm:ss[.nnnnnnnnn] (UTC) on
    the day of the first event, or +DURATION from the first event (+1.5s).

`

const topExamples = `  tracetop                              # this machine, live (root)
  tracetop -- make -j2                  # make and its children from their first instruction (root)
  tracetop top trace/                   # replay a recorded trace
  tracetop top -p 1234 -f trace/        # process 1234 and its children only
  tracetop top net://relay.example      # pick a live session of a relay
  tracetop top --batch --interval 1s trace/
  tracetop top --batch --interval 0 --json -p 1234 -f trace/
  tracetop top --textdump -p 1234 trace/`

// topKeys is the KEYS section, made from the screen's key table.
func topKeys() string {
	var b strings.Builder
	b.WriteString("KEYS\n")
	for _, l := range strings.Split(strings.TrimSpace(strings.TrimPrefix(tui.HelpText(), "Keys:")), "\n") {
		b.WriteString("    " + strings.TrimSpace(l) + "\n")
	}
	b.WriteString("\nOPTIONS\n    As listed under Flags below.")
	return b.String()
}
