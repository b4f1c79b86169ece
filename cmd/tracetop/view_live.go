package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tracetop/tracetop/ctf/pretty"
	"github.com/tracetop/tracetop/internal/live"
)

// viewLive handles `tracetop view net://...`: a relay's session listing
// (net://HOST[:PORT]) or a live session printed until it ends
// (net://HOST[:PORT]/host/HOSTNAME/SESSION); Ctrl-C detaches from the
// relay and exits with status 0. handled is false for other paths.
func viewLive(args []string, output string, po pretty.Options, r pretty.Range) (handled bool, err error) {
	if len(args) == 0 || !live.IsURL(args[0]) {
		return false, nil
	}
	if len(args) > 1 {
		return true, fmt.Errorf("view: a live session (%s) is read alone", args[0])
	}
	u, err := live.ParseURL(args[0])
	if err != nil {
		return true, err
	}
	var w io.Writer = os.Stdout
	if output != "" {
		f, err := os.Create(output)
		if err != nil {
			return true, err
		}
		defer f.Close()
		w = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if u.Session == "" {
		return true, live.PrintList(ctx, args[0], w, 0)
	}
	st, err := live.Print(ctx, args[0], w, live.PrintOptions{Pretty: po, Range: r,
		Live: live.Options{WaitSession: true, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}})
	if st.Late > 0 {
		fmt.Fprintf(os.Stderr, "tracetop view: %d events older than events already printed were dropped (the tracer wrote them after its live beacon)\n", st.Late)
	}
	return true, err
}
