package relay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Defaults of the connection limits (Config).
const (
	DefaultMessageTimeout    = 30 * time.Second
	DefaultViewerIdleTimeout = 10 * time.Minute
	DefaultMaxConnections    = 4096
)

// deadlineStep is the most bytes moved on a connection between two
// refreshes of its deadline: a long message may take long, but it must
// keep moving.
const deadlineStep = 4 << 20

// Read buffers are pooled per connection kind: a connection holds one
// only while it reads a message, so idle connections cost no buffer.
var (
	dataBufs    = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	controlBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	viewerBufs  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
)

// errIdle and errStalled end connections whose peer went quiet.
var (
	errIdle    = errors.New("idle for too long between messages")
	errStalled = errors.New("peer stalled in the middle of a message")
)

// msgConn reads the messages of one connection: between messages it waits
// at most idle (0 = forever) without holding a buffer; once a message has
// started, every step of it must arrive within stall.
type msgConn struct {
	c           net.Conn
	pool        *sync.Pool
	br          *bufio.Reader // nil between messages
	idle, stall time.Duration
}

func newMsgConn(c net.Conn, pool *sync.Pool, idle, stall time.Duration) *msgConn {
	return &msgConn{c: c, pool: pool, idle: idle, stall: stall}
}

// release gives the read buffer back to the pool when it holds no byte.
func (m *msgConn) release() {
	if m.br != nil && m.br.Buffered() == 0 {
		m.br.Reset(nil)
		m.pool.Put(m.br)
		m.br = nil
	}
}

// close gives the read buffer back.
func (m *msgConn) close() {
	if m.br != nil {
		m.br.Reset(nil)
		m.pool.Put(m.br)
		m.br = nil
	}
}

// refresh starts a stall period.
func (m *msgConn) refresh() { m.c.SetReadDeadline(time.Now().Add(m.stall)) }

// next reads the header of the next message into hdr. It returns io.EOF
// when the peer closed the connection between two messages.
func (m *msgConn) next(hdr []byte) error {
	if m.br == nil || m.br.Buffered() == 0 {
		m.release()
		var d time.Time
		if m.idle > 0 {
			d = time.Now().Add(m.idle)
		}
		m.c.SetReadDeadline(d)
		for {
			n, err := m.c.Read(hdr[:1])
			if n == 1 {
				break
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("%w (%v)", errIdle, m.idle)
			}
			if err != nil {
				return err
			}
		}
		m.br = m.pool.Get().(*bufio.Reader)
		m.br.Reset(m.c)
		m.refresh()
		_, err := io.ReadFull(m.br, hdr[1:])
		return m.midErr(err)
	}
	m.refresh()
	_, err := io.ReadFull(m.br, hdr)
	return m.midErr(err)
}

// midErr turns the error of a read in the middle of a message into the
// reason to log.
func (m *msgConn) midErr(err error) error {
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w (nothing for %v)", errStalled, m.stall)
	}
	return err
}

// readFull reads n bytes of the current message into buf (reused),
// growing it as bytes arrive so that an announced size costs memory only
// once it is really sent.
func (m *msgConn) readFull(buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), 1<<20)
		if cap(buf)-len(buf) < step {
			nb := make([]byte, len(buf), len(buf)+max(step, cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		m.refresh()
		k, err := io.ReadFull(m.br, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, m.midErr(err)
		}
	}
	return buf, nil
}

// writeAll writes the parts of a reply, refreshing the write deadline
// every deadlineStep bytes: a peer that stops reading its replies is
// dropped after stall.
func writeAll(c net.Conn, stall time.Duration, parts ...[]byte) error {
	for _, p := range parts {
		for len(p) > 0 {
			n := min(len(p), deadlineStep)
			c.SetWriteDeadline(time.Now().Add(stall))
			if _, err := c.Write(p[:n]); err != nil {
				return writeErr(err, stall)
			}
			p = p[n:]
		}
	}
	return nil
}

// sendFile writes n bytes of f from off, from the page cache to the
// socket (sendfile(2)), with the same deadlines as writeAll.
func sendFile(c net.Conn, stall time.Duration, f *os.File, off, n int64) error {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	for n > 0 {
		step := min(n, deadlineStep)
		c.SetWriteDeadline(time.Now().Add(stall))
		k, err := io.Copy(c, io.LimitReader(f, step))
		if err != nil {
			return writeErr(err, stall)
		}
		if k < step {
			return fmt.Errorf("file ends %d bytes early", n-k)
		}
		n -= k
	}
	return nil
}

func writeErr(err error, stall time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("peer reads nothing for %v: %w", stall, errStalled)
	}
	return err
}
