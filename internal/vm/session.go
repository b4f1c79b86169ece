package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tracetop/tracetop/internal/record"
)

// RecordOptions configure Record.
type RecordOptions struct {
	Dir     string   // host trace folder: DIR/kernel, DIR/guests/NAME/...
	Sockets []string // guest channels: unix sockets the VMMs listen on
	// HostEvents are recorded on the host (default DefaultHostEvents);
	// NoHost records the guests only.
	HostEvents []string
	NoHost     bool
	Guest      GuestConfig
	// DialTimeout bounds the wait for a socket to accept (default 30 s).
	DialTimeout time.Duration
	Bridge      BridgeOptions // ping schedule and timeouts (Dir, Markers set by Record)
	Logf        func(format string, args ...any)
	// Started, if set, is called with each bridge once it runs.
	Started func(*Bridge)
}

// DefaultHostEvents are the host events of a VM recording: the scheduler
// events that show vCPU threads on and off CPU, and KVM's when present.
var DefaultHostEvents = []string{"sched_switch", "sched_wakeup", "sched_waking", "sched_process_fork", "sched_process_exec", "sched_process_exit"}

// Record records the host (with the sync markers) and every guest channel
// until ctx is done, then stops the guests, waits for their bye, and stops
// the host recorder. The bridges' errors are joined.
func Record(ctx context.Context, o RecordOptions) error {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o770); err != nil {
		return err
	}
	markers := &HostMarkers{}
	var rec *record.Recorder
	if !o.NoHost {
		evs := o.HostEvents
		if len(evs) == 0 {
			evs = DefaultHostEvents
		}
		var err error
		rec, err = record.New(record.Config{
			Session:   "tracetop-vm-" + filepath.Base(o.Dir),
			OutputDir: o.Dir,
			Logf:      o.Logf,
			Channels: []record.Channel{{Name: "channel0", Events: evs, Sources: []record.EventSource{markers},
				SwitchTimer: time.Second}},
		})
		if err != nil {
			return fmt.Errorf("host recorder: %w", err)
		}
		if err := rec.Start(); err != nil {
			rec.Destroy()
			return fmt.Errorf("host recorder: %w", err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, sock := range o.Sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := serveSocket(ctx, sock, o, markers)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", sock, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if rec != nil {
		if err := rec.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("host recorder: %w", err))
		}
		if err := rec.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("host recorder: %w", err))
		}
	}
	return errors.Join(errs...)
}

func serveSocket(ctx context.Context, sock string, o RecordOptions, markers *HostMarkers) error {
	conn, err := DialUnix(ctx, sock, o.DialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	bo := o.Bridge
	bo.Dir, bo.Markers, bo.Config = o.Dir, markers, o.Guest
	if bo.Logf == nil {
		bo.Logf = o.Logf
	}
	b := NewBridge(conn, bo)
	if o.Started != nil {
		o.Started(b)
	}
	return b.Run(ctx)
}

// DialUnix connects to a unix socket, retrying while it does not exist or
// refuses (the VMM is starting) until timeout.
func DialUnix(ctx context.Context, path string, timeout time.Duration) (*net.UnixConn, error) {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("guest channel: %w", err)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
