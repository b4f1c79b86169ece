package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/analysis"
	"github.com/tracetop/tracetop/internal/live"
	"github.com/tracetop/tracetop/internal/state"
)

// Options select what Run prints.
type Options struct {
	// Sources are trace folders, or one live session of a relay:
	// net://HOST[:PORT]/host/HOSTNAME/SESSION (read from the oldest packet
	// the relay holds until the session ends or End).
	Sources []string
	// Context stops the reading of a live session (default: none).
	Context context.Context
	// Interval is the length of each interval; 0 prints one interval
	// covering the whole selection.
	Interval time.Duration
	// Begin and End bound the selection: "" for the trace's own bounds,
	// else a time as ParseTime reads it.
	Begin, End string
	JSON       bool
	PIDs       []int // show only these processes
	Children   bool  // and their descendants
	Names      []string
	// Limit is the number of rows per table (0: 20).
	Limit int
}

// ParseTime reads a time: nanoseconds from the clock origin ("1533225246661373176"),
// an offset from the first event ("+1.5s", "+250ms"), or a wall-clock
// time of day in UTC ("15:54:06.70") on the first event's day.
func ParseTime(s string, first int64) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if strings.HasPrefix(s, "+") {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", s, err)
		}
		return first + d.Nanoseconds(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if t, err := time.Parse("15:04:05.999999999", s); err == nil {
		day := time.Unix(0, first).UTC().Truncate(24 * time.Hour)
		return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
			time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())).UnixNano(), nil
	}
	return 0, fmt.Errorf("time %q: want nanoseconds, +DURATION or HH:MM:SS[.nnn]", s)
}

// Run reads the sources and prints every interval to w.
func Run(w io.Writer, opt Options) error {
	if len(opt.Sources) == 0 {
		return errors.New("batch: no trace given")
	}
	open, err := Opener(opt.Context, opt.Sources)
	if err != nil {
		return err
	}
	if opt.Limit <= 0 {
		opt.Limit = 20
	}
	// The first event time anchors relative times.
	var first int64
	if needsFirst(opt.Begin) || needsFirst(opt.End) {
		src, err := open()
		if err != nil {
			return err
		}
		var ev ctf.Event
		if err := src.Read(&ev); err == nil {
			first = ev.NS
		}
		src.Close()
	}
	begin, err := ParseTime(opt.Begin, first)
	if err != nil {
		return err
	}
	end, err := ParseTime(opt.End, first)
	if err != nil {
		return err
	}
	src, err := open()
	if err != nil {
		return err
	}
	defer src.Close()
	n := 0
	return analysis.Intervals(src, analysis.Window{Begin: begin, End: end, Step: opt.Interval.Nanoseconds()},
		func(f *analysis.Figures) error {
			filter(f, &opt)
			n++
			if opt.JSON {
				return f.WriteJSON(w) // one line per interval
			}
			if n > 1 {
				fmt.Fprintln(w)
			}
			return printText(w, f, &opt)
		})
}

// Opener returns what opens the sources: trace folders with ctf.Open, or
// a live session of a relay (net://HOST[:PORT]/host/HOSTNAME/SESSION),
// attached from the oldest packet the relay holds.
func Opener(ctx context.Context, sources []string) (func() (ctf.Source, error), error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for _, s := range sources {
		if !live.IsURL(s) {
			continue
		}
		if len(sources) > 1 {
			return nil, fmt.Errorf("batch: %s: one live session at a time, without trace folders", s)
		}
		u, err := live.ParseURL(s)
		if err != nil {
			return nil, err
		}
		if u.Session == "" {
			return nil, fmt.Errorf("batch: %s names a relay, not a session: list them with `tracetop top %s`", s, s)
		}
		return func() (ctf.Source, error) { return live.Open(ctx, s, live.Options{Beginning: true}) }, nil
	}
	return func() (ctf.Source, error) { return ctf.Open(sources, ctf.Options{}) }, nil
}

func needsFirst(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err != nil
}

// filter keeps the selected processes (and their threads).
func filter(f *analysis.Figures, opt *Options) {
	if len(opt.PIDs) == 0 && len(opt.Names) == 0 {
		return
	}
	keep := map[state.PID]bool{}
	for _, p := range opt.PIDs {
		keep[state.PID(p)] = true
	}
	for _, p := range f.Processes {
		for _, n := range opt.Names {
			if p.Comm == n {
				keep[p.PID] = true
			}
		}
	}
	if opt.Children {
		// Descendants, to a fixed point.
		for changed := true; changed; {
			changed = false
			for _, p := range f.Processes {
				if !keep[p.PID] && keep[p.PPID] {
					keep[p.PID] = true
					changed = true
				}
			}
		}
	}
	threads := f.Threads[:0]
	for _, t := range f.Threads {
		pid := t.PID
		if pid == 0 {
			pid = state.PID(t.TID)
		}
		if keep[pid] {
			threads = append(threads, t)
		}
	}
	f.Threads = threads
	procs := f.Processes[:0]
	for _, p := range f.Processes {
		if keep[p.PID] {
			procs = append(procs, p)
		}
	}
	f.Processes = procs
	vms := f.VMs[:0]
	for _, v := range f.VMs {
		if keep[v.PID] {
			vms = append(vms, v)
		}
	}
	if len(vms) == 0 {
		vms = nil // as a window without VMs (omitted from JSON)
	}
	f.VMs = vms
}

// FormatTime prints ns from the clock origin as a UTC wall-clock time.
func FormatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000000")
}

// Bytes prints a byte count in binary units.
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		if v < unit {
			return fmt.Sprintf("%.1f %s", v, u)
		}
	}
	return fmt.Sprintf("%.1f PiB", v/unit)
}

func printText(w io.Writer, f *analysis.Figures, opt *Options) error {
	var busy int64
	for _, c := range f.CPUs {
		busy += c.Busy
	}
	fmt.Fprintf(w, "Statistics for interval [%s, %s[ (%s)", FormatTime(f.Begin), FormatTime(f.End),
		time.Duration(f.Duration()))
	if f.Clipped {
		fmt.Fprint(w, " (the trace ends here: interval cut at its last event)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "CPUs: %d, %.2f%% busy:", f.NumCPU, f.MachineShare(busy))
	if f.OnlineCPUs > 0 && f.OnlineCPUs != f.NumCPU {
		fmt.Fprintf(w, " (%d online)", f.OnlineCPUs)
	}
	for _, c := range f.CPUs {
		fmt.Fprintf(w, " cpu%d %.1f%%", c.CPU, f.CoreShare(c.Busy))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Threads: %d (+%d -%d)  FDs: %d (+%d -%d)  Read: %s  Written: %s",
		f.Running, f.Born, f.Died, f.FDs, f.Opened, f.Closed, Bytes(f.Read), Bytes(f.Written))
	if f.Lost > 0 || f.LostPackets > 0 {
		fmt.Fprintf(w, "  Lost events: %d  Lost packets: %d", f.Lost, f.LostPackets)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w)
	fmt.Fprintf(w, "%7s %7s %7s %7s %-16s %-5s %6s %s\n", "CPU(%)", "PID", "TID", "VTID", "NAME", "STATE", "SW", "")
	for i, t := range f.Threads {
		if i >= opt.Limit || (t.CPUTime == 0 && i > 0) {
			break
		}
		mark := ""
		if t.Born {
			mark += " +born"
		}
		if t.Died {
			mark += " -dead"
		}
		fmt.Fprintf(w, "%7.2f %7d %7d %7d %-16s %-5c %6d%s\n", f.CoreShare(t.CPUTime), t.PID, t.TID, t.VTID,
			t.Comm, t.Status.Letter(), t.Switches, mark)
	}

	if len(f.PerfNames) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%7s %7s %-16s", "PID", "TID", "NAME")
		for _, n := range f.PerfNames {
			fmt.Fprintf(w, " %14s", strings.TrimPrefix(n, "perf_"))
		}
		fmt.Fprintln(w)
		rows := 0
		for _, t := range f.Threads {
			if len(t.Perf) == 0 || rows >= opt.Limit {
				continue
			}
			rows++
			fmt.Fprintf(w, "%7d %7d %-16s", t.PID, t.TID, t.Comm)
			for i := range f.PerfNames {
				var v uint64
				if i < len(t.Perf) {
					v = t.Perf[i]
				}
				fmt.Fprintf(w, " %14d", v)
			}
			fmt.Fprintln(w)
		}
	}

	procs := append([]analysis.ProcessFigures(nil), f.Processes...)
	sort.SliceStable(procs, func(i, j int) bool {
		return procs[i].Read+procs[i].Written > procs[j].Read+procs[j].Written
	})
	fmt.Fprintln(w)
	secs := float64(f.Duration()) / 1e9
	fmt.Fprintf(w, "%10s %10s %10s %7s %-16s %s\n", "R/s", "W/s", "TOTAL", "PID", "NAME", "FILES")
	for i, p := range procs {
		if i >= opt.Limit || p.Read+p.Written == 0 {
			break
		}
		var rs, ws float64
		if secs > 0 {
			rs, ws = float64(p.Read)/secs, float64(p.Written)/secs
		}
		var files []string
		for j, fl := range p.Files {
			if j >= 3 {
				files = append(files, "...")
				break
			}
			name := fl.Name
			if name == "" {
				name = "fd " + strconv.Itoa(int(fl.FD))
			}
			files = append(files, fmt.Sprintf("%s (%s)", name, Bytes(fl.Read+fl.Written)))
		}
		fmt.Fprintf(w, "%10s %10s %10s %7d %-16s %s\n", Bytes(uint64(rs))+"", Bytes(uint64(ws)),
			Bytes(p.Read+p.Written), p.PID, p.Comm, strings.Join(files, ", "))
	}
	printVMs(w, f)
	return nil
}

// printVMs prints the VMs of the window, when there are any: one row per
// VMM process, then one per vCPU thread.
func printVMs(w io.Writer, f *analysis.Figures) {
	if len(f.VMs) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%7s %7s %7s %7s %5s %7s %s\n", "HOST%", "GUEST%", "OVH%", "STEAL%", "VCPUS", "PID", "VM")
	for i := range f.VMs {
		v := &f.VMs[i]
		fmt.Fprintf(w, "%7.2f %7.2f %7.2f %7.2f %5d %7d %s\n", f.CoreShare(v.CPUTime), f.CoreShare(v.GuestTime),
			f.CoreShare(v.Overhead()), f.Steal(v), len(v.VCPUs), v.PID, v.Comm)
		for _, c := range v.VCPUs {
			fmt.Fprintf(w, "%15s vCPU %-3d tid %-7d on CPU %6.2f%%  preempted %6.2f%%  blocked %6.2f%%  host cpu%d\n", "",
				c.Index, c.TID, f.CoreShare(c.OnCPU), f.CoreShare(c.Preempted), f.CoreShare(c.Blocked), c.CPU)
		}
	}
}
