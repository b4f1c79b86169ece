package writer

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tracetop/tracetop/ctf/index"
)

// IndexEntry describes one packet as LTTng's index files do (index format
// 1.1). Sizes are in bits; Offset (bytes from the start of the stream file)
// is filled in by the Sink that places the packet.
type IndexEntry struct {
	Offset           uint64
	PacketSize       uint64
	ContentSize      uint64
	TimestampBegin   uint64
	TimestampEnd     uint64
	EventsDiscarded  uint64
	StreamID         uint64
	StreamInstanceID uint64
	PacketSeqNum     uint64
}

// Sink receives the finished bytes of a trace: metadata and whole packets.
// A directory (DirSink) is one sink; a relayd client is another. Methods
// may be called from several goroutines (one per stream) at once.
type Sink interface {
	// WriteMetadata appends bytes to the metadata stream.
	WriteMetadata(b []byte) error
	// WritePacket appends one whole packet to the named stream; e describes
	// it for the index (its Offset is the sink's to fill).
	WritePacket(stream string, packet []byte, e IndexEntry) error
	// CloseStream ends a stream (CPU offline, session stopped).
	CloseStream(stream string) error
	// Close ends the trace.
	Close() error
}

// IndexWriter receives the index entries of one stream.
type IndexWriter interface {
	Write(e IndexEntry) error
	Close() error
}

// IndexFactory creates the index writer of a stream at path
// (DIR/index/STREAM.idx). DirSink uses NewIndexFile unless told otherwise.
type IndexFactory func(path string) (IndexWriter, error)

// DirSink writes a trace as lttng-consumerd does: DIR/metadata,
// DIR/STREAM and DIR/index/STREAM.idx.
type DirSink struct {
	Dir   string
	Index IndexFactory

	mu      sync.Mutex
	meta    *os.File
	streams map[string]*dirStream
}

type dirStream struct {
	mu  sync.Mutex
	f   *os.File
	off uint64
	idx IndexWriter
}

// NewDirSink creates dir (and dir/index) and returns a sink writing there.
func NewDirSink(dir string) (*DirSink, error) {
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o770); err != nil {
		return nil, fmt.Errorf("trace directory: %w", err)
	}
	return &DirSink{Dir: dir, Index: NewIndexFile, streams: map[string]*dirStream{}}, nil
}

// WriteMetadata implements Sink.
func (d *DirSink) WriteMetadata(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.meta == nil {
		f, err := os.OpenFile(filepath.Join(d.Dir, "metadata"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o660)
		if err != nil {
			return err
		}
		d.meta = f
	}
	_, err := d.meta.Write(b)
	return err
}

func (d *DirSink) stream(name string) (*dirStream, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.streams[name]; s != nil {
		return s, nil
	}
	if name == "" || name == "metadata" || name == "index" || filepath.Base(name) != name || name[0] == '.' {
		return nil, fmt.Errorf("bad stream name %q", name)
	}
	f, err := os.OpenFile(filepath.Join(d.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o660)
	if err != nil {
		return nil, err
	}
	s := &dirStream{f: f}
	if d.Index != nil {
		idx, err := d.Index(filepath.Join(d.Dir, "index", name+".idx"))
		if err != nil {
			f.Close()
			return nil, err
		}
		s.idx = idx
	}
	d.streams[name] = s
	return s, nil
}

// WritePacket implements Sink.
func (d *DirSink) WritePacket(stream string, packet []byte, e IndexEntry) error {
	s, err := d.stream(stream)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("stream %q: %w", stream, ErrClosed)
	}
	e.Offset = s.off
	if _, err := s.f.Write(packet); err != nil {
		return err
	}
	s.off += uint64(len(packet))
	if s.idx != nil {
		return s.idx.Write(e)
	}
	return nil
}

// CloseStream implements Sink.
func (d *DirSink) CloseStream(stream string) error {
	d.mu.Lock()
	s := d.streams[stream]
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.close()
}

func (s *dirStream) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if s.idx != nil {
		if ierr := s.idx.Close(); err == nil {
			err = ierr
		}
	}
	return err
}

// Close implements Sink.
func (d *DirSink) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	for _, s := range d.streams {
		s.mu.Lock()
		if cerr := s.close(); err == nil {
			err = cerr
		}
		s.mu.Unlock()
	}
	if d.meta != nil {
		if cerr := d.meta.Close(); err == nil {
			err = cerr
		}
		d.meta = nil
	}
	return err
}

type indexFile struct {
	f *os.File
	w *index.Writer
}

// NewIndexFile creates an LTTng index file (version 1.1) at path, written
// with package ctf/index.
func NewIndexFile(path string) (IndexWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o660)
	if err != nil {
		return nil, err
	}
	w, err := index.NewWriter(f, index.Version{Major: 1, Minor: 1})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &indexFile{f: f, w: w}, nil
}

func (x *indexFile) Write(e IndexEntry) error { return x.w.Write(index.Entry(e)) }

func (x *indexFile) Close() error { return x.f.Close() }
