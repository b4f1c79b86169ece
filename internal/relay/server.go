package relay

import (
	"errors"
	"fmt"
	"io"
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

// readFull reads n bytes into buf (reused), growing it as bytes arrive so
// that an announced size costs memory only once it is really sent.
func readFull(r io.Reader, buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), 1<<20)
		if cap(buf)-len(buf) < step {
			nb := make([]byte, len(buf), len(buf)+max(step, cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+k]
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}
