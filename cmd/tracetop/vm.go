package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/internal/vm"
	"github.com/tracetop/tracetop/internal/vm/fuse"
)

func init() {
	// `tracetop view DIR` of a host recording with guests prints host and
	// guest events together on the host's time axis.
	viewSources = append(viewSources, func(paths []string) (ctf.Source, bool, error) {
		if len(paths) != 1 || !fuse.HasGuests(paths[0]) {
			return nil, false, nil
		}
		src, err := fuse.Open(paths[0], fuse.Options{})
		if err != nil {
			return nil, true, err
		}
		for _, g := range src.Guests() {
			fmt.Fprintf(os.Stderr, "guest %s (%s): clock sync %v ±%v, %d segment(s)\n", g.Name, g.Hostname, g.Quality, g.Bound, g.Segments)
		}
		return src, true, nil
	})

	var g vm.GuestOptions
	guest := &cobra.Command{
		Use:   "guest [--hostname NAME] [--port DEV]",
		Short: "guest agent: record this (virtual) machine's kernel and send it to the host over virtio-serial",
		Long: `guest runs inside a virtual machine. It opens the virtio-serial port named
org.tracetop.0 (found in /sys/class/virtio-ports), says hello to the host,
then records the guest kernel as the host asks and sends the CTF metadata
and packets over the port, answering the host's clock-sync pings, until the
host stops it. The host side is "tracetop vm record".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			g.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
			st, err := vm.RunGuest(ctx, g)
			fmt.Fprintf(os.Stderr, "guest agent: %d packets (%d bytes) sent, %d dropped, %d pings\n", st.Packets, st.Bytes, st.DroppedPackets, st.Pings)
			return err
		},
	}
	guest.Flags().StringVar(&g.Hostname, "hostname", "", "set the guest's hostname first")
	guest.Flags().StringVar(&g.Port, "port", "", "channel device (default: the virtio-serial port named org.tracetop.0)")
	guest.Flags().DurationVar(&g.Wait, "wait", 10*time.Second, "wait this long for the port to appear")
	rootCmd.AddCommand(guest)

	vmCmd := &cobra.Command{Use: "vm", Short: "trace a host and its virtual machines together"}
	var r vm.RecordOptions
	var duration time.Duration
	var hostEvents, guestEvents string
	rec := &cobra.Command{
		Use:   "record SOCKET... -o DIR",
		Short: "record the host and the guests behind virtio-serial sockets",
		Long: `vm record records the host kernel into DIR/kernel and, for each SOCKET (the
unix socket of a QEMU virtio-serial port named org.tracetop.0 whose guest
runs "tracetop guest"), the guest's kernel into DIR/guests/NAME/kernel with
its clock-sync stream DIR/guests/NAME/sync.json. The guest's events keep
their own clock; "tracetop view DIR" maps them onto the host's.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.Dir == "" {
				return fmt.Errorf("vm record: -o DIR is required")
			}
			r.Sockets = args
			if hostEvents != "" {
				r.HostEvents = strings.Split(hostEvents, ",")
			}
			if guestEvents != "" {
				r.Guest.Events = strings.Split(guestEvents, ",")
			}
			r.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return vm.Record(ctx, r)
		},
	}
	f := rec.Flags()
	f.StringVarP(&r.Dir, "output", "o", "", "trace folder")
	f.DurationVarP(&duration, "duration", "d", 0, "stop after this long (default: at Ctrl-C)")
	f.StringVar(&hostEvents, "host-events", "", "host events, comma-separated (default scheduler events)")
	f.StringVar(&guestEvents, "guest-events", "", "guest events, comma-separated (default scheduler events)")
	f.BoolVar(&r.NoHost, "no-host", false, "record the guests only")
	vmCmd.AddCommand(rec)
	rootCmd.AddCommand(vmCmd)
}
