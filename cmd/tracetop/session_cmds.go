package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracetop/tracetop/internal/session"
)

// The session commands, named and flagged as lttng's. Each builds one
// session.Request and prints the daemon's answer.

// sendRequest runs req against the daemon and prints its answer.
func sendRequest(cmd *cobra.Command, req *session.Request) error {
	resp, err := session.Do(req, cmd.OutOrStdout())
	if err != nil {
		return err
	}
	if resp.Warn != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), resp.Warn)
	}
	fmt.Fprint(cmd.OutOrStdout(), resp.Text)
	if resp.Err != "" {
		return errors.New(resp.Err)
	}
	return nil
}

// domainFlags are lttng's -k/-u; only the kernel domain exists here.
type domainFlags struct{ kernel, user bool }

func (d *domainFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&d.kernel, "kernel", "k", false, "apply to the kernel tracer")
	cmd.Flags().BoolVarP(&d.user, "userspace", "u", false, "apply to the user-space tracer (not supported)")
}

func (d *domainFlags) check() error {
	if d.user {
		return errors.New("user-space tracing (-u) is not supported by tracetop: use -k")
	}
	if !d.kernel {
		return errors.New("please specify a domain: -k (the kernel)")
	}
	return nil
}

type createOptions struct {
	output string
	live   string
	url    string
}

func newCreateCmd() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "create a recording session (default name auto-YYYYMMDD-HHMMSS)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			name, auto := session.AutoName(now), true
			if len(args) == 1 {
				name, auto = args[0], false
			}
			live := cmd.Flags().Changed("live")
			out := o.output
			switch {
			case o.url != "" || live:
				if out != "" {
					return errors.New("-o and -U/--live exclude each other: a session goes either to a folder or to a relay")
				}
			case out == "":
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("no home folder for the default output (%v): use -o DIR", err)
				}
				out = session.DefaultOutput(home, name, now)
				if auto { // lttng does not repeat the date of an auto- name
					out = filepath.Join(home, "lttng-traces", name)
				}
			default:
				if abs, err := filepath.Abs(out); err == nil {
					out = abs
				}
			}
			ca := &session.CreateArgs{OutputDir: out, URL: o.url, AutoName: auto}
			if live {
				ca.Live = true
				if o.live != "" {
					us, err := strconv.ParseUint(o.live, 10, 64)
					if err != nil || us == 0 {
						return fmt.Errorf("--live=%s: want a timer period in microseconds", o.live)
					}
					ca.LiveTimerU = us
				}
				if o.url == "" {
					// lttng create --live spawns a local relay when none listens.
					if err := session.EnsureLocalRelay(cmd.OutOrStdout()); err != nil {
						return err
					}
				}
			}
			return sendRequest(cmd, &session.Request{Cmd: session.CmdCreate, Session: name, Create: ca})
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "trace folder (the kernel trace goes to DIR/kernel)")
	cmd.Flags().StringVar(&o.live, "live", "", "live session streamed to a relay (default net://127.0.0.1, viewers on port 5344), with a live timer of USEC microseconds (default 1000000)")
	cmd.Flags().Lookup("live").NoOptDefVal = "1000000"
	cmd.Flags().StringVarP(&o.url, "set-url", "U", "", "stream to a relay: net://HOST[:CTRL_PORT[:DATA_PORT]] (default ports 5342, 5343)")
	return cmd
}

type eventOptions struct {
	domainFlags
	session    string
	channel    string
	all        bool
	syscall    bool
	tracepoint bool
}

func newEventCmd(enable bool) *cobra.Command {
	var o eventOptions
	use, short, cmdName := "enable-event", "enable kernel events (tracepoints, system calls) in a channel", session.CmdEnableEvent
	if !enable {
		use, short, cmdName = "disable-event", "disable kernel events of a channel", session.CmdDisableEvent
	}
	cmd := &cobra.Command{
		Use:   use + " -k [-c CHANNEL] [-a] [--syscall] [NAME[,NAME...]|GLOB]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if !o.all && len(args) == 0 {
				return errors.New("give event names (NAME[,NAME...] or a glob) or -a")
			}
			if o.syscall && o.tracepoint {
				return errors.New("--syscall and --tracepoint exclude each other")
			}
			return sendRequest(cmd, &session.Request{Cmd: cmdName, Session: o.session, Event: &session.EventArgs{
				Channel: o.channel, All: o.all, Syscall: o.syscall, Tracepoint: o.tracepoint, Names: args}})
		},
	}
	o.add(cmd)
	cmd.Flags().StringVarP(&o.session, "session", "s", "", "session (default: the current one)")
	cmd.Flags().StringVarP(&o.channel, "channel", "c", "", "channel (default channel0)")
	cmd.Flags().BoolVarP(&o.all, "all", "a", false, "every event of the chosen type")
	cmd.Flags().BoolVar(&o.syscall, "syscall", false, "system calls (syscall_entry_NAME / syscall_exit_NAME)")
	cmd.Flags().BoolVar(&o.tracepoint, "tracepoint", false, "tracepoints only")
	return cmd
}

type channelOptions struct {
	domainFlags
	session     string
	subbufSize  string
	numSubbuf   int
	overwrite   bool
	discard     bool
	switchTimer uint64
	readTimer   uint64
}

// parseSize reads lttng's sizes: 4096, 64k, 1M, 2G.
func parseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 4096, 64k, 1M)", s)
	}
	return n * mult, nil
}

func newEnableChannelCmd() *cobra.Command {
	var o channelOptions
	cmd := &cobra.Command{
		Use:   "enable-channel -k [--subbuf-size SIZE] [--num-subbuf N] [--overwrite|--discard] [--switch-timer USEC] NAME",
		Short: "create a kernel channel: its ring buffers and loss mode",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if o.overwrite && o.discard {
				return errors.New("--overwrite and --discard exclude each other")
			}
			ca := &session.ChannelArgs{Name: args[0], NumSubbuf: o.numSubbuf, Overwrite: o.overwrite,
				SwitchTimerUS: o.switchTimer, ReadTimerUS: o.readTimer}
			if o.subbufSize != "" {
				n, err := parseSize(o.subbufSize)
				if err != nil {
					return fmt.Errorf("--subbuf-size: %w", err)
				}
				ca.SubbufSize = n
			}
			return sendRequest(cmd, &session.Request{Cmd: session.CmdEnableChannel, Session: o.session, Channel: ca})
		},
	}
	o.add(cmd)
	cmd.Flags().StringVarP(&o.session, "session", "s", "", "session (default: the current one)")
	cmd.Flags().StringVar(&o.subbufSize, "subbuf-size", "", "sub-buffer size in bytes (k, M, G suffixes), a power of two")
	cmd.Flags().IntVar(&o.numSubbuf, "num-subbuf", 0, "sub-buffers per CPU, a power of two")
	cmd.Flags().BoolVar(&o.overwrite, "overwrite", false, "flight-recorder mode: overwrite the oldest packets when full")
	cmd.Flags().BoolVar(&o.discard, "discard", false, "discard new events when full (default)")
	cmd.Flags().Uint64Var(&o.switchTimer, "switch-timer", 0, "close packets at least every USEC microseconds")
	cmd.Flags().Uint64Var(&o.readTimer, "read-timer", 0, "read the ring buffers every USEC microseconds")
	return cmd
}

type contextOptions struct {
	domainFlags
	session string
	channel string
	types   []string
}

func newAddContextCmd() *cobra.Command {
	var o contextOptions
	cmd := &cobra.Command{
		Use:   "add-context -k -t TYPE [-t TYPE...] [-c CHANNEL]",
		Short: "add context fields (vpid, vtid, procname, ...) to every event of a channel",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if len(o.types) == 0 {
				return errors.New("give at least one context type with -t")
			}
			return sendRequest(cmd, &session.Request{Cmd: session.CmdAddContext, Session: o.session,
				Context: &session.ContextArgs{Channel: o.channel, Types: o.types}})
		},
	}
	o.add(cmd)
	cmd.Flags().StringVarP(&o.session, "session", "s", "", "session (default: the current one)")
	cmd.Flags().StringVarP(&o.channel, "channel", "c", "", "channel (default: all)")
	cmd.Flags().StringArrayVarP(&o.types, "type", "t", nil, "context type: pid tid vpid vtid ppid vppid procname prio nice cpu_id")
	return cmd
}

// newSessionVerbCmd makes start, stop, destroy, list and status.
func newSessionVerbCmd(name, short, cmdName string) *cobra.Command {
	return &cobra.Command{
		Use:   name + " [NAME]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &session.Request{Cmd: cmdName}
			if len(args) == 1 {
				req.Session = args[0]
			}
			return sendRequest(cmd, req)
		},
	}
}

type sessiondOptions struct{ socket string }

func newSessiondCmd() *cobra.Command {
	var o sessiondOptions
	cmd := &cobra.Command{
		Use:   "sessiond",
		Short: "run the session daemon that owns the tracing sessions (started by the session commands when needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return session.Run(context.Background(), o.socket, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.socket, "socket", session.SocketPath(), "unix socket to listen on")
	return cmd
}

func init() {
	rootCmd.AddCommand(
		newCreateCmd(),
		newEventCmd(true),
		newEventCmd(false),
		newEnableChannelCmd(),
		newAddContextCmd(),
		newSessionVerbCmd("start", "start recording a session", session.CmdStart),
		newSessionVerbCmd("stop", "stop recording a session (its trace is then complete)", session.CmdStop),
		newSessionVerbCmd("destroy", "stop and forget a session (its trace stays on disk)", session.CmdDestroy),
		newSessionVerbCmd("list", "list the sessions, or one session's channels and events", session.CmdList),
		newSessionVerbCmd("status", "show the current session", session.CmdStatus),
		newSessiondCmd(),
	)
}
