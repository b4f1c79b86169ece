package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/internal/relay"
)

func init() {
	var o relay.RunOptions
	var daemon bool
	cmd := &cobra.Command{
		Use:   "relayd [-o DIR] [-C URL] [-D URL] [-L URL] [-d]",
		Short: "receive traces over the network, store them and serve them live (lttng-relayd 2.13 compatible)",
		Long: `relayd receives traces streamed by tracers (tracetop, lttng-sessiond 2.13) on
its control and data ports, writes them in lttng-relayd's layout
(HOSTNAME/SESSION-DATE-TIME/kernel|ust/...), and serves them live to any
number of viewers (tracetop, babeltrace2 --input-format=lttng-live) on its
live port. URLs are tcp://ADDR:PORT or tcp6://[ADDR]:PORT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// A relay started by -d tells its parent once it listens.
			notify := relay.DaemonNotify()
			if daemon && notify == nil {
				_, err := relay.StartDaemon("", os.Args[1:], 30*time.Second)
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if notify != nil {
				o.Ready = notify.Ready
			}
			err := relay.Run(ctx, o)
			notify.Fail(err)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.OutputDir, "output", "o", "", "output folder (default $LTTNG_HOME/lttng-traces or $HOME/lttng-traces)")
	f.StringVarP(&o.ControlURL, "control-port", "C", relay.DefaultControlURL, "control port URL")
	f.StringVarP(&o.DataURL, "data-port", "D", relay.DefaultDataURL, "data port URL")
	f.StringVarP(&o.LiveURL, "live-port", "L", relay.DefaultLiveURL, "live viewer port URL")
	f.BoolVarP(&daemon, "daemonize", "d", false, "run in the background (returns once the ports listen, or with the reason the relay cannot start)")
	f.DurationVar(&o.MessageTimeout, "message-timeout", relay.DefaultMessageTimeout, "close a connection whose peer stops in the middle of a message (or stops reading a reply) this long")
	f.DurationVar(&o.ViewerIdleTimeout, "viewer-idle-timeout", relay.DefaultViewerIdleTimeout, "close a live viewer silent between commands this long (negative: never)")
	f.IntVar(&o.MaxConnections, "max-connections", relay.DefaultMaxConnections, "connections open at once on all ports")
	rootCmd.AddCommand(cmd)
}
