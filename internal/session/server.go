package session

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/record/relaysink"
	"github.com/tracetop/tracetop/internal/relay/send"
)

// Live defaults, as lttng's.
const (
	DefaultLiveTimerUS = 1000000
	DefaultLiveURL     = "net://127.0.0.1"
)

// SocketEnv overrides the daemon's socket path (tests, private daemons).
const SocketEnv = "TRACETOP_SESSIOND_SOCKET"

// DefaultSocket is where the daemon listens and the commands call it.
const DefaultSocket = "/run/tracetop/sessiond.sock"

// SocketPath returns the socket in use: $TRACETOP_SESSIOND_SOCKET or DefaultSocket.
func SocketPath() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	return DefaultSocket
}

// Server is the session daemon: it owns the sessions and answers the
// commands arriving on its unix socket, one goroutine per connection.
type Server struct {
	ln   *net.UnixListener
	path string

	mu       sync.Mutex
	sessions []*session
	current  string
	now      func() time.Time
	uuid     [16]byte // this daemon's identity for relays
	nextID   uint64   // the next session's number

	peer owner // credentials of the request being handled

	wg    sync.WaitGroup
	conns map[net.Conn]struct{}
	done  chan struct{}
}

// Listen creates the socket (and its folder) at path, readable and
// writable by root and, when the group exists, by the "tracing" group.
// A stale socket left by a crashed daemon is replaced; a live one is an
// error.
func Listen(path string) (*Server, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("sessiond: tracing the kernel needs root: run it with sudo (members of the \"tracing\" group may then use its sessions)")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sessiond: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("sessiond: a session daemon already listens on %s", path)
	}
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("sessiond: listen: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	mode := os.FileMode(0o600)
	if g, err := user.LookupGroup("tracing"); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil && os.Chown(path, 0, gid) == nil {
			mode = 0o660
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("sessiond: %w", err)
	}
	return &Server{ln: ln, path: path, now: time.Now, uuid: relaysink.NewUUID(), conns: map[net.Conn]struct{}{}, done: make(chan struct{})}, nil
}

// Serve answers connections until Close.
func (s *Server) Serve() error {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return nil
			default:
			}
			return fmt.Errorf("sessiond: accept: %w", err)
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	peer := peerCred(c)
	for {
		body, err := readFrame(c, kindRequest)
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				c.Write(encodeResponse(&Response{Err: err.Error()}))
			}
			return
		}
		req, err := decodeRequestBody(body)
		var resp *Response
		if err != nil {
			resp = &Response{Err: err.Error()}
		} else {
			resp = s.handleFrom(req, peer)
		}
		if _, err := c.Write(encodeResponse(resp)); err != nil {
			return
		}
	}
}

// Close stops accepting, closes the connections, stops every active
// session and destroys them all.
func (s *Server) Close() error {
	close(s.done)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, se := range s.sessions {
		if e := se.destroy(); e != nil && err == nil {
			err = e
		}
	}
	s.sessions = nil
	return err
}

func (s *Server) find(name string) (*session, error) {
	if name == "" {
		name = s.current
		if name == "" {
			return nil, errors.New("no session given and no current session: create one first (tracetop create)")
		}
	}
	for _, se := range s.sessions {
		if se.name == name {
			return se, nil
		}
	}
	return nil, fmt.Errorf("session %s not found", name)
}

// Handle runs one request; it is what the socket calls and what an
// in-process user (tests, the top) calls directly.
func (s *Server) Handle(req *Request) *Response { return s.handleFrom(req, owner{}) }

func (s *Server) handleFrom(req *Request, peer owner) *Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peer = peer
	text, warn, err := s.handle(req)
	resp := &Response{Text: text, Warn: warn}
	if err != nil {
		resp.Err = err.Error()
	}
	if req.Cmd == CmdList || req.Cmd == CmdStatus {
		for _, se := range s.sessions {
			if req.Session == "" && req.Cmd == CmdList || se.name == req.Session || req.Cmd == CmdStatus && req.Session == "" && se.name == s.current {
				resp.Sessions = append(resp.Sessions, se.info(se.name == s.current))
			}
		}
	}
	return resp
}

func (s *Server) handle(req *Request) (text, warn string, err error) {
	switch req.Cmd {
	case CmdPing:
		return "", "", nil
	case CmdCreate:
		return s.create(req)
	case CmdList:
		return s.list(req.Session)
	}
	se, err := s.find(req.Session)
	if err != nil {
		return "", "", err
	}
	switch req.Cmd {
	case CmdDestroy:
		var b strings.Builder
		fmt.Fprintf(&b, "Destroying session %s..\n", se.name)
		err := se.destroy()
		s.sessions = slices.DeleteFunc(s.sessions, func(x *session) bool { return x == se })
		if s.current == se.name {
			s.current = ""
		}
		if err != nil {
			return b.String(), "", fmt.Errorf("session %s destroyed, but its recording ended badly: %w", se.name, err)
		}
		fmt.Fprintf(&b, "Session %s destroyed\n", se.name)
		return b.String(), "", nil
	case CmdStart:
		warn, err := se.start(os.Getpid())
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("Tracing started for session %s\n", se.name), warn, nil
	case CmdStop:
		if err := se.stop(); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("Waiting for data availability\nTracing stopped for session %s\n", se.name), "", nil
	case CmdEnableEvent, CmdDisableEvent:
		return s.event(se, req)
	case CmdEnableChannel:
		return s.enableChannel(se, req.Channel)
	case CmdAddContext:
		return s.addContext(se, req.Context)
	case CmdStatus:
		return statusText(se.info(true)), "", nil
	}
	return "", "", fmt.Errorf("unknown command %q", req.Cmd)
}

func (s *Server) create(req *Request) (string, string, error) {
	a := req.Create
	if a == nil {
		a = &CreateArgs{}
	}
	now := s.now()
	name := req.Session
	if name == "" {
		name = AutoName(now)
	}
	if !validName(name) {
		return "", "", fmt.Errorf("invalid session name %q: letters, digits, '_', '-' and '.' only", name)
	}
	for _, se := range s.sessions {
		if se.name == name {
			return "", "", fmt.Errorf("session %s already exists", name)
		}
	}
	se := &session{name: name, live: a.Live, liveUS: a.LiveTimerU, url: a.URL, owner: s.peer,
		created: now, auto: req.Session == "" || a.AutoName, id: s.nextID, daemonID: s.uuid}
	if a.Live && a.LiveTimerU == 0 {
		se.liveUS = DefaultLiveTimerUS
	}
	url := a.URL
	if a.Live && url == "" {
		url = DefaultLiveURL // lttng create --live streams to the local relay
	}
	if url != "" {
		if a.OutputDir != "" {
			return "", "", errors.New("a session goes either to a folder (-o) or to a relay (-U, --live), not both")
		}
		ctl, data, err := send.ParseURL(url)
		if err != nil {
			return "", "", err
		}
		se.relay = relayAddr{control: ctl, data: data}
	} else {
		se.output = a.OutputDir
		if se.output == "" {
			se.output = DefaultOutput(homeDir(), name, now)
		}
		if !filepath.IsAbs(se.output) {
			return "", "", fmt.Errorf("output folder %q is not an absolute path", se.output)
		}
	}
	s.nextID++
	s.sessions = append(s.sessions, se)
	s.current = name
	var b strings.Builder
	if a.Live {
		fmt.Fprintf(&b, "Live session %s created.\n", name)
	} else {
		fmt.Fprintf(&b, "Session %s created.\n", name)
	}
	if se.relay.control != "" {
		fmt.Fprintf(&b, "Traces will be output to %s\n", se.relay.text())
	} else {
		fmt.Fprintf(&b, "Traces will be output to %s\n", se.output)
	}
	if a.Live {
		fmt.Fprintf(&b, "Live timer interval set to %d us\n", se.liveUS)
	}
	return b.String(), "", nil
}

func (s *Server) event(se *session, req *Request) (string, string, error) {
	a := req.Event
	if a == nil {
		a = &EventArgs{}
	}
	enable := req.Cmd == CmdEnableEvent
	names := splitNames(a.Names)
	if a.All {
		names = []string{"*"}
	}
	if len(names) == 0 {
		return "", "", errors.New("no event name given (NAME[,NAME...], a glob, or -a)")
	}
	for _, n := range names {
		if err := validGlob(n); err != nil {
			return "", "", err
		}
	}
	if enable && se.active {
		return "", "", fmt.Errorf("session %s is active: stop it before enabling events", se.name)
	}
	if enable {
		if err := se.connect(); err != nil {
			return "", "", err
		}
	}
	ch, err := se.channel(a.Channel, enable)
	if err != nil {
		return "", "", err
	}
	syscalls := a.Syscall || (a.All && !a.Tracepoint)
	tracepoints := !a.Syscall
	var b strings.Builder
	if enable {
		if syscalls {
			ch.Syscalls = addNames(ch.Syscalls, names)
		}
		if tracepoints {
			ch.Events = addNames(ch.Events, names)
		}
		switch {
		case a.All && a.Syscall:
			fmt.Fprintf(&b, "All Kernel system calls are enabled in channel %s\n", ch.Name)
		case a.All && a.Tracepoint:
			fmt.Fprintf(&b, "All Kernel tracepoints are enabled in channel %s\n", ch.Name)
		case a.All:
			fmt.Fprintf(&b, "All Kernel events are enabled in channel %s\n", ch.Name)
		default:
			for _, n := range names {
				if a.Syscall {
					fmt.Fprintf(&b, "Kernel syscall %s enabled in channel %s\n", n, ch.Name)
				} else {
					fmt.Fprintf(&b, "Kernel event %s created in channel %s\n", n, ch.Name)
				}
			}
		}
		return b.String(), "", nil
	}
	if se.active {
		return "", "", fmt.Errorf("session %s is active: stop it before disabling events", se.name)
	}
	for _, n := range names {
		if syscalls {
			ch.Syscalls = removeName(ch.Syscalls, n)
		}
		if tracepoints {
			ch.Events = removeName(ch.Events, n)
		}
	}
	if a.All {
		fmt.Fprintf(&b, "All Kernel events are disabled in channel %s\n", ch.Name)
	} else {
		for _, n := range names {
			kind := "event"
			if a.Syscall {
				kind = "syscall"
			}
			fmt.Fprintf(&b, "Kernel %s %s disabled in channel %s for session %s\n", kind, n, ch.Name, se.name)
		}
	}
	return b.String(), "", nil
}

func addNames(list, names []string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

func removeName(list []string, n string) []string {
	if n == "*" {
		return nil
	}
	return slices.DeleteFunc(list, func(x string) bool { return x == n })
}

func (s *Server) enableChannel(se *session, a *ChannelArgs) (string, string, error) {
	if a == nil || a.Name == "" {
		return "", "", errors.New("no channel name given")
	}
	if !validName(a.Name) {
		return "", "", fmt.Errorf("invalid channel name %q", a.Name)
	}
	exists := slices.ContainsFunc(se.channels, func(c *record.Channel) bool { return c.Name == a.Name })
	if exists && (a.SubbufSize != 0 || a.NumSubbuf != 0 || a.SwitchTimerUS != 0 || a.Overwrite) {
		return "", "", fmt.Errorf("channel %s already exists in session %s: its attributes cannot change", a.Name, se.name)
	}
	if err := se.connect(); err != nil {
		return "", "", err
	}
	ch, err := se.channel(a.Name, true)
	if err != nil {
		return "", "", err
	}
	if a.SubbufSize != 0 {
		if a.SubbufSize < 4096 || a.SubbufSize&(a.SubbufSize-1) != 0 {
			return "", "", fmt.Errorf("sub-buffer size %d: must be a power of two of at least 4096 bytes", a.SubbufSize)
		}
		ch.SubbufSize = a.SubbufSize
	}
	if a.NumSubbuf != 0 {
		if a.NumSubbuf < 2 || a.NumSubbuf&(a.NumSubbuf-1) != 0 {
			return "", "", fmt.Errorf("sub-buffer count %d: must be a power of two, at least 2", a.NumSubbuf)
		}
		ch.SubbufCount = a.NumSubbuf
	}
	ch.Overwrite = a.Overwrite
	ch.SwitchTimer = time.Duration(a.SwitchTimerUS) * time.Microsecond
	ch.ReadTimer = time.Duration(a.ReadTimerUS) * time.Microsecond
	return fmt.Sprintf("Kernel channel %s enabled for session %s\n", ch.Name, se.name), "", nil
}

func (s *Server) addContext(se *session, a *ContextArgs) (string, string, error) {
	if a == nil || len(a.Types) == 0 {
		return "", "", errors.New("no context type given (-t TYPE)")
	}
	if se.started {
		return "", "", fmt.Errorf("session %s has already been started: contexts cannot be added", se.name)
	}
	for _, t := range a.Types {
		if err := checkContext(t); err != nil {
			return "", "", err
		}
	}
	var chans []*record.Channel
	if a.Channel != "" {
		ch, err := se.channel(a.Channel, false)
		if err != nil {
			return "", "", err
		}
		chans = append(chans, ch)
	} else {
		if len(se.channels) == 0 {
			if _, err := se.channel("", true); err != nil {
				return "", "", err
			}
		}
		chans = se.channels
	}
	var b strings.Builder
	for _, t := range a.Types {
		for _, ch := range chans {
			ch.Contexts = addNames(ch.Contexts, []string{t})
		}
		if a.Channel != "" {
			fmt.Fprintf(&b, "kernel context %s added to channel %s\n", t, a.Channel)
		} else {
			fmt.Fprintf(&b, "kernel context %s added to all channels\n", t)
		}
	}
	return b.String(), "", nil
}

func (s *Server) list(name string) (string, string, error) {
	var b strings.Builder
	if name != "" {
		se, err := s.find(name)
		if err != nil {
			return "", "", err
		}
		return statusText(se.info(se.name == s.current)), "", nil
	}
	if len(s.sessions) == 0 {
		return "Currently no available recording session\n", "", nil
	}
	b.WriteString("Available recording sessions:\n")
	for i, se := range s.sessions {
		state := "inactive"
		if se.active {
			state = "active"
		}
		fmt.Fprintf(&b, "  %d) %s [%s]\n", i+1, se.name, state)
		fmt.Fprintf(&b, "    Trace output: %s\n", se.outputText())
		if se.live {
			fmt.Fprintf(&b, "    Live timer interval: %d us\n", se.liveUS)
		}
		b.WriteString("\n")
	}
	b.WriteString("Use tracetop list <session_name> for more details\n")
	return b.String(), "", nil
}

func cmpOr(v, d uint64) uint64 {
	if v == 0 {
		return d
	}
	return v
}

// statusText prints one session as `lttng list NAME` does.
func statusText(si SessionInfo) string {
	var b strings.Builder
	state := "inactive"
	if si.Active {
		state = "active"
	}
	fmt.Fprintf(&b, "Recording session %s: [%s]\n", si.Name, state)
	out := si.OutputDir
	if si.Relay != "" {
		out = si.Relay
	}
	fmt.Fprintf(&b, "    Trace output: %s\n", out)
	if si.RelayDir != "" {
		fmt.Fprintf(&b, "    Relay session folder: %s\n", si.RelayDir)
	}
	if si.Syscalls != "" {
		fmt.Fprintf(&b, "    System calls: %s\n", si.Syscalls)
	}
	b.WriteString("\n=== Domain: Linux kernel ===\n\nChannels:\n-------------\n")
	if len(si.Channels) == 0 {
		b.WriteString("None\n")
	}
	for _, c := range si.Channels {
		mode := "discard"
		if c.Overwrite {
			mode = "overwrite"
		}
		fmt.Fprintf(&b, "- %s: [enabled]\n\n    Attributes:\n", c.Name)
		fmt.Fprintf(&b, "      Event-loss mode:  %s\n", mode)
		fmt.Fprintf(&b, "      Sub-buffer size:  %d bytes\n", c.SubbufSize)
		fmt.Fprintf(&b, "      Sub-buffer count: %d\n", c.NumSubbuf)
		if c.SwitchTimer == 0 {
			b.WriteString("      Switch timer:     0\n")
		} else {
			fmt.Fprintf(&b, "      Switch timer:     %d µs\n", c.SwitchTimer)
		}
		b.WriteString("      Output type:      splice()\n\n    Recording event rules:\n")
		if len(c.Events)+len(c.Syscalls) == 0 {
			b.WriteString("      None\n")
		}
		for _, e := range c.Events {
			fmt.Fprintf(&b, "      %s (type: tracepoint) [enabled]\n", e)
		}
		for _, e := range c.Syscalls {
			fmt.Fprintf(&b, "      %s (type: syscall) [enabled]\n", e)
		}
		if len(c.Contexts) > 0 {
			fmt.Fprintf(&b, "\n    Contexts: %s\n", strings.Join(c.Contexts, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
