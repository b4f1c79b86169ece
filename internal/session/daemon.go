package session

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
)

// Run is `tracetop sessiond`: it listens on socket and serves until
// SIGINT/SIGTERM or ctx ends, then stops and destroys every session.
func Run(ctx context.Context, socket string, log io.Writer) error {
	srv, err := Listen(socket)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	fmt.Fprintf(log, "tracetop sessiond: listening on %s\n", socket)
	select {
	case <-ctx.Done():
		fmt.Fprintf(log, "tracetop sessiond: stopping sessions and exiting\n")
		err = srv.Close()
		<-errc
	case err = <-errc:
		srv.Close()
	}
	return err
}

// Do sends one command to the daemon at SocketPath(), spawning it when
// needed; spawned is written to notice ("Spawning a session daemon").
func Do(req *Request, notice io.Writer) (*Response, error) {
	cl, spawned, err := Connect(SocketPath())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if spawned && notice != nil {
		fmt.Fprintln(notice, "Spawning a session daemon")
	}
	return cl.Call(req)
}
