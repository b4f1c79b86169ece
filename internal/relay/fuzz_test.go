package relay

import (
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
	fuzzN    uint64
)

func fuzzServer(t testing.TB) *Server {
	fuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "relayfuzz")
		if err != nil {
			t.Fatal(err)
		}
		fuzzSrv, err = New(Config{OutputDir: dir, Location: time.UTC, Logf: func(string, ...any) {}})
		if err != nil {
			t.Fatal(err)
		}
	})
	return fuzzSrv
}

// fuzzSession opens a session with one data stream (its id is returned)
// and a metadata stream, as a tracer would.
func fuzzSession(t testing.TB, s *Server, live uint32) (*ctlConn, proto.StreamID) {
	cc := &ctlConn{peer: "fuzz"}
	fuzzN++
	cs := proto.CreateSession{SessionName: "s", Hostname: "h", LiveTimer: live, CreationTime: 1, SessiondSessionID: fuzzN}
	cs.SessiondUUID[0] = 1
	var id proto.StreamID
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []struct {
		cmd proto.Cmd
		p   []byte
	}{
		{proto.CmdVersion, (&proto.Version{Major: 2, Minor: 13}).Append(nil)},
		{proto.CmdCreateSession, cs.Append(nil, 13)},
		{proto.CmdCreateTraceChunk, (&proto.CreateTraceChunk{}).Append(nil)},
		{proto.CmdAddStream, (&proto.AddStream{ChannelName: "c_0", Pathname: "ust"}).Append(nil, 13)},
		{proto.CmdAddStream, (&proto.AddStream{ChannelName: "metadata", Pathname: "ust"}).Append(nil, 13)},
		{proto.CmdStreamsSent, nil},
	} {
		out, err := s.control(cc, m.cmd, m.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.cmd == proto.CmdAddStream && id == 0 {
			var r proto.AddStreamReply
			r.Decode(out)
			id = r.Handle
		}
	}
	return cc, id
}

// commands cuts fuzz bytes into (command, payload) pairs.
func commands(b []byte, ncmd uint8, fn func(cmd uint32, p []byte) bool) {
	for len(b) >= 3 {
		cmd := uint32(b[0] % ncmd)
		n := min(int(b[1])<<8|int(b[2]), len(b)-3)
		if !fn(cmd, b[3:3+n]) {
			return
		}
		b = b[3+n:]
	}
}

// FuzzControlPort runs command sequences on a control connection that has
// a session, a chunk and streams.
func FuzzControlPort(f *testing.F) {
	idx := proto.SendIndex{RelayStreamID: 1, PacketSize: 4096 * 8, ContentSize: 100}
	seed := func(cmd proto.Cmd, p []byte) []byte {
		return append([]byte{byte(cmd), byte(len(p) >> 8), byte(len(p))}, p...)
	}
	f.Add(seed(proto.CmdSendIndex, idx.Append(nil, 13)))
	f.Add(append(seed(proto.CmdRotateStreams, (&proto.RotateStreams{Positions: []proto.RotatePosition{{StreamID: 1}}}).Append(nil)),
		seed(proto.CmdCloseTraceChunk, (&proto.CloseTraceChunk{HasCommand: true}).Append(nil))...))
	f.Add(seed(proto.CmdCloseStream, (&proto.StreamSeq{StreamID: 1, LastNetSeqNum: 3}).Append(nil)))
	f.Add(seed(proto.CmdSendMetadata, []byte{0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 9, 'x'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := fuzzServer(t)
		cc, id := fuzzSession(t, s, 0)
		commands(b, 24, func(cmd uint32, p []byte) bool {
			// Aim stream ids at this session's streams.
			if len(p) >= 8 && p[7] < 4 {
				p[7] = byte(uint64(id) + uint64(p[7]%2))
				for i := range 7 {
					p[i] = byte(uint64(id) >> (8 * (7 - i)))
				}
			}
			s.mu.Lock()
			_, err := s.control(cc, proto.Cmd(cmd), p, nil)
			s.mu.Unlock()
			return err == nil
		})
		s.mu.Lock()
		s.controlClosed(cc)
		s.mu.Unlock()
	})
}

// FuzzDataPort feeds a data connection with arbitrary bytes.
func FuzzDataPort(f *testing.F) {
	h := proto.DataHeader{StreamID: 1, DataSize: 4, PaddingSize: 4}
	f.Add(append(h.Append(nil), 1, 2, 3, 4))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := fuzzServer(t)
		cc, id := fuzzSession(t, s, 0)
		if len(b) >= 16 {
			for i := range 8 {
				b[8+i] = byte(uint64(id) >> (8 * (7 - i)))
			}
		}
		a, z := net.Pipe()
		done := make(chan struct{})
		go func() {
			s.serveData(z)
			z.Close()
			close(done)
		}()
		go func() {
			a.Write(b)
			a.Close()
		}()
		<-done
		s.mu.Lock()
		s.controlClosed(cc)
		s.mu.Unlock()
	})
}

// FuzzLivePort runs viewer command sequences against a live session.
func FuzzLivePort(f *testing.F) {
	seed := func(cmd proto.ViewerCmd, p []byte) []byte { return append([]byte{byte(cmd), 0, byte(len(p))}, p...) }
	f.Add(append(append(seed(proto.ViewerCreateSession, nil),
		seed(proto.ViewerAttachSession, (&proto.AttachSession{SessionID: 1, Seek: 1}).Append(nil))...),
		seed(proto.ViewerGetNextIndex, []byte{0, 0, 0, 0, 0, 0, 0, 1})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := fuzzServer(t)
		cc, _ := fuzzSession(t, s, 1000)
		v := &viewerConn{peer: "fuzz", connected: true, attached: map[proto.SessionID]*session{},
			vs: map[proto.StreamID]*vstream{}, known: map[proto.StreamID]bool{}}
		commands(b, 10, func(cmd uint32, p []byte) bool {
			n := proto.ViewerPayloadSize(proto.ViewerCmd(cmd))
			if n < 0 || len(p) < n {
				return false
			}
			_, _, err := s.viewer(v, proto.ViewerCmd(cmd), p[:n], nil)
			return err == nil
		})
		s.mu.Lock()
		for id := range v.attached {
			s.detach(v, id)
		}
		s.controlClosed(cc)
		s.mu.Unlock()
		for _, x := range v.vs {
			x.close()
		}
	})
}
