package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the bare `tracetop`: the top on a local live session.
// The top's file replaces RunE when it registers.
var rootCmd = &cobra.Command{
	Use:   "tracetop",
	Short: "exact figures from kernel events: a top, a tracer, a relay and a trace reader",
	Long: `tracetop shows what a Linux machine is doing from kernel events alone.

Run without arguments it traces the local machine and shows a live top.
Its subcommands record kernel traces (create, enable-event, start, ...),
relay them over the network (relayd), print them (view) and analyse them
(top --batch), locally or live from any LTTng 2.13 compatible relay.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// exitError carries a process exit status through cobra.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if err := rootCmd.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintf(os.Stderr, "tracetop: %v\n", err)
		os.Exit(1)
	}
}
