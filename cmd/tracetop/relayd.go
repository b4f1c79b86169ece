package main

import (
	"os"
	"os/signal"
	"syscall"

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
			if daemon {
				var rest []string
				for _, a := range os.Args[1:] {
					if a != "-d" && a != "--daemonize" {
						rest = append(rest, a)
					}
				}
				_, err := relay.StartDetached(rest)
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return relay.Run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.OutputDir, "output", "o", "", "output folder (default $LTTNG_HOME/lttng-traces or $HOME/lttng-traces)")
	f.StringVarP(&o.ControlURL, "control-port", "C", relay.DefaultControlURL, "control port URL")
	f.StringVarP(&o.DataURL, "data-port", "D", relay.DefaultDataURL, "data port URL")
	f.StringVarP(&o.LiveURL, "live-port", "L", relay.DefaultLiveURL, "live viewer port URL")
	f.BoolVarP(&daemon, "daemonize", "d", false, "run in the background")
	f.DurationVar(&o.MessageTimeout, "message-timeout", relay.DefaultMessageTimeout, "close a connection whose peer stops in the middle of a message (or stops reading a reply) this long")
	f.DurationVar(&o.ViewerIdleTimeout, "viewer-idle-timeout", relay.DefaultViewerIdleTimeout, "close a live viewer silent between commands this long (negative: never)")
	f.IntVar(&o.MaxConnections, "max-connections", relay.DefaultMaxConnections, "connections open at once on all ports")
	rootCmd.AddCommand(cmd)
}
