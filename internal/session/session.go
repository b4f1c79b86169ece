package session

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/bpf/events"
	"github.com/tracetop/tracetop/internal/record"
)

// session is one tracing session owned by the daemon.
type session struct {
	name     string
	output   string
	live     bool
	liveUS   uint64
	url      string
	channels []*record.Channel
	active   bool
	started  bool   // started at least once: channels are fixed from then on
	syscalls string // how syscalls are recorded, for status

	owner owner // who created it: its trace is handed over at stop

	rec  *record.Recorder
	bpfs *events.Source
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

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
	if strings.HasPrefix(t, "perf:") {
		return fmt.Errorf("context %s: perf counters are not recorded yet (known: %s)", t, strings.Join(knownContexts, ", "))
	}
	return fmt.Errorf("unknown context type %q (known: %s)", t, strings.Join(knownContexts, ", "))
}

func (s *session) info(current bool) SessionInfo {
	si := SessionInfo{Name: s.name, OutputDir: s.output, Active: s.active, Live: s.live, URL: s.url, Current: current, Syscalls: s.syscalls}
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
		if len(ch.Syscalls) > 0 && s.bpfs == nil {
			src, err := events.NewSource(events.SourceConfig{Syscalls: ch.Syscalls, IgnorePID: bpf.PID(self)})
			switch {
			case errors.Is(err, bpf.ErrNotSupported):
				s.syscalls = "tracefs syscall events, without user-space strings: " + err.Error()
				warn = "Warning: system calls are recorded without their strings (paths): " + err.Error()
			case err != nil:
				return "", err
			default:
				s.bpfs = src
				ch.Sources = append(ch.Sources, src)
				s.syscalls = "bpf, with user-space strings"
			}
		}
		cfg.Channels = append(cfg.Channels, ch)
	}
	rec, err := record.New(cfg)
	if err != nil {
		s.closeSources()
		return "", err
	}
	s.rec = rec
	return warn, nil
}

func (s *session) stop() error {
	if !s.active {
		return fmt.Errorf("tracing already stopped for session %s", s.name)
	}
	s.active = false
	err := s.rec.Stop()
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
	if s.rec != nil {
		if e := s.rec.Destroy(); err == nil {
			err = e
		}
		s.rec = nil
	}
	s.closeSources()
	return err
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
