package main

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracetop/tracetop/internal/batch"
)

// topBatchOptions are the flags only the batch mode has; the others
// (-p, -n, -f, -b, -i) are shared with the interactive top and read from
// the command's flag set when it runs.
type topBatchOptions struct {
	batch bool
	end   string
	json  bool
	limit int
}

func init() {
	var o topBatchOptions
	cmd := &cobra.Command{
		Use:   "top [flags] TRACE_DIR | net://HOST[:PORT]/host/HOSTNAME/SESSION",
		Short: "the top on a recorded trace or a live session; --batch prints it as text or JSON",
		Example: `  tracetop top --batch --interval 1s trace/
  tracetop top --batch --interval 0 --json -p 1234 -f trace/`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("top: which trace? tracetop top --batch TRACE_DIR")
			}
			return batch.Run(os.Stdout, batchOptions(cmd.Flags(), &o, args))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.batch, "batch", false, "print the figures of each interval as text (like top -b) instead of the screen")
	f.StringVarP(&o.end, "end", "e", "", "stop at this time: ns, hh:mm:ss[.ns] or +offset from the first event")
	f.BoolVar(&o.json, "json", false, "with --batch, one JSON object per interval")
	f.IntVar(&o.limit, "limit", 20, "with --batch, rows per table")
	// Shared with the interactive mode, which adds them when it is built
	// in; defined here otherwise.
	f.IntSliceP("pid", "p", nil, "show only these processes (PID[,PID...])")
	f.StringSliceP("procname", "n", nil, "show only the processes with these names (NAME[,NAME...])")
	f.BoolP("child", "f", false, "with -p or -n, show their children too")
	f.StringP("begin", "b", "", "start at this time: ns, hh:mm:ss[.ns] or +offset from the first event")
	f.DurationP("interval", "i", time.Second, "length of an interval (0: one interval for the whole selection)")
	rootCmd.AddCommand(cmd)
}

// batchOptions reads the flags into batch.Options.
func batchOptions(f *pflag.FlagSet, o *topBatchOptions, args []string) batch.Options {
	opt := batch.Options{Sources: args, End: o.end, JSON: o.json, Limit: o.limit}
	opt.PIDs, _ = f.GetIntSlice("pid")
	opt.Names, _ = f.GetStringSlice("procname")
	opt.Children, _ = f.GetBool("child")
	opt.Begin, _ = f.GetString("begin")
	opt.Interval, _ = f.GetDuration("interval")
	return opt
}
