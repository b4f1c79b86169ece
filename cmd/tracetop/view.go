package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/pretty"
)

// viewOptions are the flags of `tracetop view`, babeltrace2's names.
type viewOptions struct {
	clockCycles, clockDate, clockGMT, clockSeconds, noDelta bool
	names, fields                                           string
	begin, end, timerange                                   string
	output, color                                           string
	noQuirks                                                bool
}

// viewSources opens the sources `view` can read. A trace folder is the
// default; other kinds (net://host/..., a live session) register a
// function here, tried first, that returns ok=false for paths it does not
// handle.
var viewSources []func(paths []string) (src ctf.Source, ok bool, err error)

func init() {
	var o viewOptions
	cmd := &cobra.Command{
		Use:   "view [flags] PATH...",
		Short: "print the events of CTF traces as babeltrace2 does",
		Long: `view prints every event of the CTF traces found under PATH (every folder
holding a metadata file; folders of one session are merged in time order),
one line per event, exactly as babeltrace2's default text output: time,
delta, hostname, event name, packet context, contexts and payload.
Discarded events and lost packets are reported on standard error.

Times are printed in the local time zone (TZ) unless --clock-gmt.
--begin and --end take YYYY-MM-DD HH:II[:SS[.NANO]], HH:II[:SS[.NANO]]
(on the date of the first event) or [-]SEC[.NANO] (from the clock's
origin).

babeltrace2 2.0 prints an empty string field of an event whose object it
recycled as the value that object's field held before (its string clear
keeps the old bytes); view does the same so that outputs are equal.
--no-bt2-quirks prints "" instead.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runView(cmd, args, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.clockCycles, "clock-cycles", false, "print timestamps in clock cycles")
	f.BoolVar(&o.clockDate, "clock-date", false, "print timestamp dates")
	f.BoolVar(&o.clockGMT, "clock-gmt", false, "print and parse timestamps in UTC instead of the local time zone")
	f.BoolVar(&o.clockSeconds, "clock-seconds", false, "print timestamps as SEC.NS instead of HH:MM:SS.NS")
	f.BoolVar(&o.noDelta, "no-delta", false, "do not print the time delta between consecutive events")
	f.StringVarP(&o.names, "names", "n", "", "print field names: payload (arg, args), context (ctx), header, scope, all, none")
	f.StringVarP(&o.fields, "fields", "f", "", "print extra fields: trace, trace:hostname, trace:domain, trace:procname, trace:vpid, loglevel, emf, callsite, all")
	f.StringVarP(&o.begin, "begin", "b", "", "print events from this time on")
	f.StringVarP(&o.end, "end", "e", "", "print events up to this time")
	f.StringVarP(&o.timerange, "timerange", "t", "", "BEGIN,END or [BEGIN,END]")
	f.StringVarP(&o.output, "output", "w", "", "write the text to this file instead of standard output")
	f.StringVar(&o.color, "color", "never", "never, auto or always (colours are not written)")
	f.BoolVar(&o.noQuirks, "no-bt2-quirks", false, "print an empty string field as \"\" where babeltrace2 2.0 prints a recycled event's old value")
	rootCmd.AddCommand(cmd)
}

func runView(cmd *cobra.Command, args []string, o *viewOptions) error {
	po := pretty.DefaultOptions()
	po.ClockCycles, po.ClockDate, po.ClockGMT = o.clockCycles, o.clockDate, o.clockGMT
	po.ClockSeconds, po.NoDelta = o.clockSeconds, o.noDelta
	po.NoBT2Quirks = o.noQuirks
	if cmd.Flags().Changed("names") {
		if err := po.SetNames(o.names); err != nil {
			return err
		}
	}
	if cmd.Flags().Changed("fields") {
		if err := po.SetFields(o.fields); err != nil {
			return err
		}
	}
	var r pretty.Range
	begin, end := o.begin, o.end
	if o.timerange != "" {
		tr := strings.TrimSuffix(strings.TrimPrefix(o.timerange, "["), "]")
		b, e, ok := strings.Cut(tr, ",")
		if !ok {
			return fmt.Errorf("invalid --timerange %q (want BEGIN,END)", o.timerange)
		}
		begin, end = b, e
	}
	var err error
	if begin != "" {
		if r.Begin, err = pretty.ParseBound(begin); err != nil {
			return fmt.Errorf("--begin: %w", err)
		}
	}
	if end != "" {
		if r.End, err = pretty.ParseBound(end); err != nil {
			return fmt.Errorf("--end: %w", err)
		}
	}
	po.TraceName, po.StreamName = pretty.InputNames(args)

	if ok, err := viewLive(args, o.output, po, r); ok {
		return err
	}
	src, err := openViewSource(args)
	if err != nil {
		return err
	}
	defer src.Close()

	var w io.Writer = os.Stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return pretty.Run(src, w, po, r)
}

func openViewSource(paths []string) (ctf.Source, error) {
	for _, open := range viewSources {
		src, ok, err := open(paths)
		if ok || err != nil {
			return src, err
		}
	}
	return ctf.Open(paths, ctf.Options{})
}
