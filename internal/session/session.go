package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/bpf/events"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/record/relaysink"
)

// session is one tracing session owned by the daemon.
type session struct {
	name     string
	output   string // local trace folder; "" when streaming to a relay
	live     bool
	liveUS   uint64
	url      string // -U as given (net://HOST[:C[:D]]); "" for a local session
	relay    relayAddr
	created  time.Time
	auto     bool   // auto-generated name (it holds the creation time)
	id       uint64 // the daemon's session number, sent to the relay
	daemonID [16]byte
	channels []*record.Channel
	active   bool
	started  bool   // started at least once: channels are fixed from then on
	syscalls string // how syscalls are recorded, for status

	owner owner // who created it: its trace is handed over at stop

	rec  *record.Recorder
	bpfs *events.Source
	sink *relaysink.Sink // streaming sessions, from the first start
	idle *idleBeacons    // live sessions while stopped
}

// relayAddr is where a streaming session goes.
type relayAddr struct {
	control, data string // host:port
}

func (s *session) outputText() string {
	if s.relay.control != "" {
		return s.relay.text()
	}
	return s.output
}

// text is how lttng shows a relay output: tcp4://127.0.0.1:5342/ [data: 5343].
func (r relayAddr) text() string {
	host, cport, _ := net.SplitHostPort(r.control)
	_, dport, _ := net.SplitHostPort(r.data)
	scheme := "tcp4"
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		scheme, host = "tcp6", "["+host+"]"
	}
	return fmt.Sprintf("%s://%s:%s/ [data: %s]", scheme, host, cport, dport)
}

// validName says whether name is a session or channel name: 1 to 255 of
// A-Z a-z 0-9 _ . - (a loop: the regular expression's 255 repetitions
// cost every start of the program a quarter of a megabyte).
func validName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// AutoName is lttng's default session name for a creation time.
func AutoName(t time.Time) string { return "auto-" + t.Format("20060102-150405") }

// DefaultOutput is lttng's default trace folder for a session: HOME/lttng-traces/NAME-DATE-TIME.
func DefaultOutput(home, name string, t time.Time) string {
	return filepath.Join(home, "lttng-traces", name+"-"+t.Format("20060102-150405"))
}

func (s *session) channel(name string, create bool) (*record.Channel, error) {
	if name == "" {
		name = "channel0"
	}
	for _, c := range s.channels {
		if c.Name == name {
			return c, nil
		}
	}
	if !create {
		return nil, fmt.Errorf("channel %s not found in session %s", name, s.name)
	}
	if s.started {
		return nil, fmt.Errorf("channel %s cannot be created in session %s: the session has already been started", name, s.name)
	}
	c := &record.Channel{Name: name, SubbufSize: record.DefaultSubbufSize, SubbufCount: record.DefaultSubbufCount}
	s.channels = append(s.channels, c)
	return c, nil
}

// knownContexts are add-context -k -t types the recorder writes.
var knownContexts = []string{"pid", "tid", "vpid", "vtid", "ppid", "vppid", "procname", "prio", "nice", "cpu_id"}

func checkContext(t string) error {
	if slices.Contains(knownContexts, t) {
		return nil
	}
	if _, isPerf, err := record.CheckContext(t); isPerf {
		return err // nil, or why this counter cannot be had here
	}
	return fmt.Errorf("unknown context type %q (known: %s)", t, strings.Join(knownContexts, ", "))
}

func (s *session) info(current bool) SessionInfo {
	si := SessionInfo{Name: s.name, OutputDir: s.output, Active: s.active, Live: s.live, URL: s.url, Current: current, Syscalls: s.syscalls}
	if s.relay.control != "" {
		si.Relay = s.relay.text()
		if s.sink != nil {
			si.RelayDir = s.sink.SessionDir()
		}
	}
	if s.live {
		si.LiveTimerUS = cmpOr(s.liveUS, DefaultLiveTimerUS)
	}
	for _, c := range s.channels {
		si.Channels = append(si.Channels, ChannelInfo{Name: c.Name, SubbufSize: c.SubbufSize, NumSubbuf: c.SubbufCount,
			Overwrite: c.Overwrite, SwitchTimer: uint64(c.SwitchTimer / time.Microsecond),
			Events: c.Events, Syscalls: c.Syscalls, Contexts: c.Contexts})
	}
	return si
}

// start starts recording; the first start builds the recorder from the
// channels, later ones resume it. warn tells what is recorded differently
// than asked (system calls without BPF).
func (s *session) start(self int) (warn string, err error) {
	if s.active {
		return "", fmt.Errorf("tracing already started for session %s", s.name)
	}
	if s.rec == nil {
		if warn, err = s.build(self); err != nil {
			return "", err
		}
	}
	s.idle.stop()
	s.idle = nil
	if err := s.rec.Start(); err != nil {
		return "", err
	}
	s.active, s.started = true, true
	return warn, nil
}

func (s *session) build(self int) (warn string, err error) {
	if !slices.ContainsFunc(s.channels, func(c *record.Channel) bool { return len(c.Events)+len(c.Syscalls) > 0 }) {
		return "", fmt.Errorf("no events enabled in session %s (use enable-event -k)", s.name)
	}
	cfg := record.Config{Session: s.name, OutputDir: s.output}
	s.syscalls = ""
	for _, c := range s.channels {
		ch := *c
		ch.Sources = nil
		if s.live {
			ch.LiveTimer = time.Duration(s.liveUS) * time.Microsecond
		}
		// Perf counter contexts are read by the eBPF source too, so a
		// channel with one gets the source even without system calls.
		perfCtx := slices.ContainsFunc(ch.Contexts, func(t string) bool { return strings.HasPrefix(t, "perf:") })
		if (len(ch.Syscalls) > 0 || perfCtx) && s.bpfs == nil {
			src, err := events.NewSource(events.SourceConfig{Syscalls: ch.Syscalls, Perf: perfCtx, IgnorePID: bpf.PID(self)})
			switch {
			case errors.Is(err, bpf.ErrNotSupported) && perfCtx:
				return "", fmt.Errorf("perf counter contexts need eBPF: %w", err)
			case errors.Is(err, bpf.ErrNotSupported):
				s.syscalls = "tracefs syscall events, without user-space strings: " + err.Error()
				warn = "Warning: system calls are recorded without their strings (paths): " + err.Error()
			case err != nil:
				return "", err
			default:
				s.bpfs = src
				ch.Sources = append(ch.Sources, src)
				if len(ch.Syscalls) > 0 {
					s.syscalls = "bpf, with user-space strings"
				}
			}
		}
		cfg.Channels = append(cfg.Channels, ch)
	}
	if s.relay.control != "" {
		if err := s.open(cfg.Channels); err != nil {
			s.closeSources()
			if s.sink != nil {
				s.sink.Close()
				s.sink = nil // the next start tries again with a new relay session
			}
			return "", err
		}
		cfg.Sink = s.sink
		if s.live {
			cfg.Live = s.sink.Live
		}
	}
	rec, err := record.New(cfg)
	if err != nil {
		s.closeSources()
		if s.sink != nil {
			s.sink.Close()
			s.sink = nil
		}
		return "", err
	}
	s.rec = rec
	return warn, nil
}

// connect creates the relay session of a streaming session, as
// lttng-sessiond does when the session gets its first channel: a live
// viewer may attach before the session starts.
func (s *session) connect() error {
	if s.relay.control == "" || s.sink != nil {
		return nil
	}
	o := relaysink.Options{Control: s.relay.control, Data: s.relay.data, Session: s.name,
		NameHasTime: s.auto, Created: s.created, SessiondUUID: s.daemonID, SessionID: s.id}
	if s.live {
		o.LiveTimer = time.Duration(s.liveUS) * time.Microsecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sk, err := relaysink.Dial(ctx, o)
	if err != nil {
		return fmt.Errorf("session %s: cannot stream to the relay at %s: %w", s.name, s.relay.text(), err)
	}
	s.sink = sk
	return nil
}

// open starts the relay trace, announcing one stream per online CPU and
// channel, as lttng-consumerd does for a kernel session.
func (s *session) open(chans []record.Channel) error {
	if err := s.connect(); err != nil {
		return err
	}
	cpus, err := ftrace.OnlineCPUs()
	if err != nil {
		return err
	}
	var streams []string
	for _, ch := range chans {
		for _, c := range cpus {
			streams = append(streams, fmt.Sprintf("%s_%d", ch.Name, c))
		}
	}
	if err := s.sink.Open(streams); err != nil {
		return fmt.Errorf("session %s: %w", s.name, err)
	}
	return nil
}

func (s *session) stop() error {
	if !s.active {
		return fmt.Errorf("tracing already stopped for session %s", s.name)
	}
	s.active = false
	err := s.rec.Stop()
	if s.sink != nil {
		// lttng stop waits until the relay has every packet.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if e := s.sink.Wait(ctx); err == nil {
			err = e
		}
		cancel()
		if s.live {
			s.idle = startIdleBeacons(s.sink, time.Duration(s.liveUS)*time.Microsecond)
		}
		return err
	}
	s.owner.chownTree(s.output)
	return err
}

// destroy stops the recording if needed and frees the tracefs instances
// and BPF programs; the trace stays on disk.
func (s *session) destroy() error {
	var err error
	if s.active {
		err = s.stop()
	}
	s.idle.stop()
	s.idle = nil
	if s.rec != nil {
		if e := s.rec.Destroy(); err == nil {
			err = e
		}
		s.rec = nil
	}
	if s.sink != nil {
		s.sink.Close() // done by the recorder's Destroy; closes what is left otherwise
		s.sink = nil
	}
	s.closeSources()
	return err
}

// idleBeacons sends the live beacons of a stopped live session, once per
// live-timer period, as LTTng's live timer runs until destroy: viewers
// then reach the end of what was recorded without waiting for destroy.
type idleBeacons struct {
	quit chan struct{}
	done chan struct{}
}

func startIdleBeacons(sk *relaysink.Sink, period time.Duration) *idleBeacons {
	ib := &idleBeacons{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(ib.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ib.quit:
				return
			case <-t.C:
				if sk.Beacons(uint64(record.Now())) != nil {
					return
				}
			}
		}
	}()
	return ib
}

func (ib *idleBeacons) stop() {
	if ib != nil {
		close(ib.quit)
		<-ib.done
	}
}

func (s *session) closeSources() {
	if s.bpfs != nil {
		s.bpfs.Close()
		s.bpfs = nil
	}
}

// splitNames splits "a,b,c" arguments.
func splitNames(args []string) []string {
	var out []string
	for _, a := range args {
		for _, n := range strings.Split(a, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

func validGlob(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad event name pattern %q", p)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func homeDir() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return "/root"
	}
	return h
}
