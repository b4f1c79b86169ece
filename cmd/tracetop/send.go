package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/internal/relay/send"
)

func init() {
	var live time.Duration
	var liveSet bool
	var pace, name, host string
	cmd := &cobra.Command{
		Use:   "send TRACE_DIR net://HOST[:CTRL[:DATA]] [--live[=PERIOD]] [--pace real|max]",
		Short: "stream a recorded trace to a relay as if it were being recorded",
		Long: `send streams the CTF trace folder TRACE_DIR (packet boundaries from its index
files, or from the packet headers when it has none) to an LTTng 2.13
compatible relay (tracetop relayd, lttng-relayd):
one relay session, one stream per data file, packets in time order with
their indexes. --live makes it a live session (beacons every PERIOD, default
1s) that viewers can follow; --pace real sends each packet at its time
since the first one, --pace max as fast as possible.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctl, data, err := send.ParseURL(args[1])
			if err != nil {
				return err
			}
			p, err := send.ParsePace(pace)
			if err != nil {
				return err
			}
			o := send.Options{Control: ctl, Data: data, Pace: p, SessionName: name, Hostname: host}
			if liveSet = cmd.Flags().Changed("live"); liveSet {
				o.LiveTimer = live
			}
			start := time.Now()
			st, err := send.Trace(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			d := time.Since(start)
			fmt.Fprintf(cmd.OutOrStdout(), "sent %d packets (%d bytes) of %d streams in %.3fs (%.1f MB/s) to %s\n",
				st.Packets, st.Bytes, st.Streams, d.Seconds(), float64(st.Bytes)/1e6/d.Seconds(), st.SessionDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&live, "live", time.Second, "make a live session with this beacon period")
	f.Lookup("live").NoOptDefVal = "1s"
	f.StringVar(&pace, "pace", "max", "real: at the trace's own pace; max: as fast as possible")
	f.StringVar(&name, "name", "", "session name (default: the folder's name)")
	f.StringVar(&host, "hostname", "", "hostname given to the relay (default: this machine's)")
	rootCmd.AddCommand(cmd)
}
