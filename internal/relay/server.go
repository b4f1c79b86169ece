package relay

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

// Config configures a relay.
type Config struct {
	// OutputDir is the root of the written traces (created if missing).
	OutputDir string
	// Location formats the dates of directory names; nil = time.Local, as
	// lttng-relayd does.
	Location *time.Location
	// Logf receives one line per refused connection or command; nil = log.Printf.
	Logf func(format string, args ...any)
	// DisallowClear refuses `lttng clear` (CLOSE_TRACE_CHUNK with DELETE).
	DisallowClear bool
	// MessageTimeout is how long a peer may send nothing in the middle of
	// a message, or read nothing of a reply, before its connection is
	// closed; 0 = DefaultMessageTimeout.
	MessageTimeout time.Duration
	// ViewerIdleTimeout is how long a live viewer may stay silent between
	// two commands; 0 = DefaultViewerIdleTimeout, < 0 = forever. Tracers
	// may stay silent forever between messages (a session that records
	// nothing, a stream with no packet): LTTng's tracers do.
	ViewerIdleTimeout time.Duration
	// MaxConnections bounds the connections open at once on all ports
	// (the memory of the relay); the next ones are closed at once and
	// logged. 0 = DefaultMaxConnections.
	MaxConnections int
}

// Server is a relay daemon. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	root *os.Root

	mu          sync.Mutex
	nextSession uint64
	nextStream  uint64
	nextTrace   uint64
	nextViewer  uint64
	sessions    map[proto.SessionID]*session
	streams     map[proto.StreamID]*stream
	chunks      map[chunkKey]*chunk

	connMu    sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup

	dataBytes int64 // bytes consumed on data connections (tests wait on it)
}

// New opens (creating it if needed) the output folder.
func New(cfg Config) (*Server, error) {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.OutputDir == "" {
		return nil, errors.New("relay: no output folder")
	}
	if cfg.MessageTimeout <= 0 {
		cfg.MessageTimeout = DefaultMessageTimeout
	}
	switch {
	case cfg.ViewerIdleTimeout == 0:
		cfg.ViewerIdleTimeout = DefaultViewerIdleTimeout
	case cfg.ViewerIdleTimeout < 0:
		cfg.ViewerIdleTimeout = 0
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if err := os.MkdirAll(cfg.OutputDir, 0o750); err != nil {
		return nil, fmt.Errorf("relay: create output folder: %w", err)
	}
	root, err := os.OpenRoot(cfg.OutputDir)
	if err != nil {
		return nil, fmt.Errorf("relay: open output folder: %w", err)
	}
	return &Server{
		cfg:      cfg,
		root:     root,
		sessions: map[proto.SessionID]*session{},
		streams:  map[proto.StreamID]*stream{},
		chunks:   map[chunkKey]*chunk{},
		conns:    map[net.Conn]struct{}{},
	}, nil
}

// Serve accepts connections on the control, data and live listeners (any
// may be nil) until Close. It returns nil after Close.
func (s *Server) Serve(control, data, live net.Listener) error {
	s.connMu.Lock()
	if s.closed {
		s.connMu.Unlock()
		return errors.New("relay: server closed")
	}
	for _, l := range []net.Listener{control, data, live} {
		if l != nil {
			s.listeners = append(s.listeners, l)
		}
	}
	s.connMu.Unlock()
	errc := make(chan error, 3)
	n := 0
	for _, x := range []struct {
		l  net.Listener
		fn func(net.Conn)
	}{{control, s.serveControl}, {data, s.serveData}, {live, s.serveLive}} {
		if x.l == nil {
			continue
		}
		n++
		go func() { errc <- s.accept(x.l, x.fn) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			s.Close()
		}
	}
	return first
}

func (s *Server) accept(l net.Listener, fn func(net.Conn)) error {
	for {
		c, err := l.Accept()
		if err != nil {
			s.connMu.Lock()
			closed := s.closed
			s.connMu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("relay: accept on %s: %w", l.Addr(), err)
		}
		s.connMu.Lock()
		if s.closed {
			s.connMu.Unlock()
			c.Close()
			return nil
		}
		if len(s.conns) >= s.cfg.MaxConnections {
			s.connMu.Unlock()
			s.logf("connection from %s on %s refused: %d connections open", c.RemoteAddr(), l.Addr(), s.cfg.MaxConnections)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.connMu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.connMu.Lock()
				delete(s.conns, c)
				s.connMu.Unlock()
				c.Close()
			}()
			fn(c)
		}()
	}
}

// Close stops accepting, closes every connection, waits for their
// handlers, and closes the files.
func (s *Server) Close() error {
	s.connMu.Lock()
	if s.closed {
		s.connMu.Unlock()
		return nil
	}
	s.closed = true
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.connMu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	for _, st := range s.streams {
		st.closeFiles()
	}
	for _, c := range s.chunks {
		c.root.Close()
	}
	s.mu.Unlock()
	return s.root.Close()
}

func (s *Server) isClosed() bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return s.closed
}

func (s *Server) logf(format string, args ...any) { s.cfg.Logf("relayd: "+format, args...) }
