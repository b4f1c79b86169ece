package send

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// Pace selects how fast packets are sent.
type Pace int

const (
	// PaceMax sends as fast as the relay takes them.
	PaceMax Pace = iota
	// PaceReal sends each packet when its end time is reached, measured
	// from the first packet.
	PaceReal
)

// ParsePace parses "real" or "max".
func ParsePace(s string) (Pace, error) {
	switch s {
	case "max":
		return PaceMax, nil
	case "real":
		return PaceReal, nil
	}
	return 0, fmt.Errorf("unknown pace %q (want real or max)", s)
}

// Options configures Trace.
type Options struct {
	Control, Data string        // relay addresses, host:port
	SessionName   string        // default: the trace folder's name
	Hostname      string        // default: this machine's
	LiveTimer     time.Duration // 0 = not a live session
	Pace          Pace
}

// Stats summarises a transfer.
type Stats struct {
	Streams    int
	Packets    int
	Bytes      int64 // packet bytes sent (without padding)
	SessionDir string
}

// ParseURL parses net://HOST[:CTRL[:DATA]] (also net4://, net6://,
// tcp://HOST:CTRL) into the control and data addresses. A port left out
// keeps lttng's default (control 5342, data 5343), as lttng create -U
// does: net://HOST:6000 sends data to 5343, net://HOST::6010 control to
// 5342.
func ParseURL(s string) (control, data string, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	switch scheme {
	case "net", "net4", "net6", "tcp", "tcp4", "tcp6":
	default:
		if !ok {
			return "", "", fmt.Errorf("relay URL %q: want net://HOST[:CTRL[:DATA]]", s)
		}
		return "", "", fmt.Errorf("relay URL %q: scheme %q, want net://", s, scheme)
	}
	var host string
	ctl, dat := "5342", "5343"
	// net://HOST:CTRL:DATA is not a standard URL; split by hand.
	if h := rest; h != "" {
		h, _, _ = strings.Cut(h, "/")
		host = h
		if strings.HasPrefix(h, "[") {
			i := strings.Index(h, "]")
			if i < 0 {
				return "", "", fmt.Errorf("relay URL %q: bad IPv6 address", s)
			}
			host, h = h[1:i], h[i+1:]
		} else {
			host, h, _ = strings.Cut(h, ":")
			if h != "" {
				h = ":" + h
			}
		}
		if h != "" {
			parts := strings.Split(strings.TrimPrefix(h, ":"), ":")
			if len(parts) > 2 {
				return "", "", fmt.Errorf("relay URL %q: too many ports", s)
			}
			// As lttng: a port left out (net://HOST:CTRL, net://HOST::DATA)
			// keeps its default.
			if parts[0] != "" {
				ctl = parts[0]
			}
			if len(parts) == 2 && parts[1] != "" {
				dat = parts[1]
			}
		}
	}
	for _, p := range []string{ctl, dat} {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return "", "", fmt.Errorf("relay URL %q: bad port %q", s, p)
		}
	}
	if host == "" {
		return "", "", fmt.Errorf("relay URL %q: no host", s)
	}
	return net.JoinHostPort(host, ctl), net.JoinHostPort(host, dat), nil
}

type dataStream struct {
	path, name string
	files      []*os.File
	packets    []ctf.PacketInfo
	id         proto.StreamID
	sent       int
	lastTS     uint64
	ctfID      uint64
	freq       uint64
	beaconDue  bool
}

type traceDir struct {
	rel     string
	meta    []byte
	metaID  proto.StreamID
	streams []*dataStream
}

// findTraces lists the traces under dir (the folders holding a metadata
// file) and the packets of their streams: package ctf takes them from the
// index files when there are some, else from the packet headers.
func findTraces(dir string) (traces []*traceDir, closeAll func(), err error) {
	var files []*os.File
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	r, err := ctf.Open([]string{dir}, ctf.Options{})
	if err != nil {
		return nil, closeAll, err
	}
	defer r.Close()
	byTrace := map[*ctf.Trace]*traceDir{}
	for _, t := range r.Traces() {
		rel, err := filepath.Rel(dir, t.Path)
		if err != nil {
			return nil, closeAll, err
		}
		if rel == "." {
			rel = "trace" // a relay stream needs a folder
		}
		meta, err := os.ReadFile(filepath.Join(t.Path, "metadata"))
		if err != nil {
			return nil, closeAll, err
		}
		td := &traceDir{rel: filepath.ToSlash(rel), meta: meta}
		byTrace[t] = td
		traces = append(traces, td)
	}
	for _, s := range r.Streams() {
		td := byTrace[s.Trace]
		ds := &dataStream{path: td.rel, name: s.Name, packets: s.Packets(), freq: 1e9}
		if c := s.Class.Clock; c != nil && c.Freq > 0 {
			ds.freq = c.Freq
		}
		for _, name := range s.Files {
			f, err := os.Open(name)
			if err != nil {
				return nil, closeAll, err
			}
			files = append(files, f)
			ds.files = append(ds.files, f)
		}
		td.streams = append(td.streams, ds)
	}
	return traces, closeAll, nil
}

// Trace streams the trace folder dir to a relay.
func Trace(ctx context.Context, dir string, o Options) (Stats, error) {
	var st Stats
	traces, closeAll, err := findTraces(dir)
	defer closeAll()
	if err != nil {
		return st, err
	}
	var all []*dataStream
	for _, t := range traces {
		all = append(all, t.streams...)
	}
	if o.SessionName == "" {
		abs, _ := filepath.Abs(dir)
		o.SessionName = filepath.Base(abs)
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	c, err := client.Dial(ctx, o.Control, o.Data)
	if err != nil {
		return st, err
	}
	defer c.Close()
	now := uint64(time.Now().Unix())
	cs := proto.CreateSession{SessionName: o.SessionName, Hostname: o.Hostname, CreationTime: now,
		LiveTimer: uint32(o.LiveTimer / time.Microsecond)}
	rand.Read(cs.SessiondUUID[:])
	sid, sdir, err := c.CreateSession(cs)
	if err != nil {
		return st, err
	}
	st.SessionDir = sdir
	if err := c.CreateTraceChunk(0, now, ""); err != nil {
		return st, err
	}
	var metas []proto.StreamID
	for _, t := range traces {
		for _, s := range t.streams {
			if s.id, err = c.AddStream(s.name, t.rel, 0); err != nil {
				return st, err
			}
			st.Streams++
		}
		if t.metaID, err = c.AddStream("metadata", t.rel, 0); err != nil {
			return st, err
		}
		metas = append(metas, t.metaID)
	}
	if err := c.StreamsSent(); err != nil {
		return st, err
	}
	for _, t := range traces {
		for b := t.meta; len(b) > 0; {
			n := min(len(b), 1<<20)
			if err := c.SendMetadata(t.metaID, b[:n], 0); err != nil {
				return st, err
			}
			b = b[n:]
		}
	}
	if err := sendPackets(ctx, c, all, o, &st); err != nil {
		return st, err
	}
	// End as lttng stop and destroy do.
	var pend []client.Pending
	var pos []proto.RotatePosition
	for _, s := range all {
		last := proto.SeqNum(s.sent) - 1
		pend = append(pend, client.Pending{Stream: s.id, LastSeq: last})
		next := proto.SeqNum(0)
		if s.sent > 0 {
			next = proto.SeqNum(seqOf(s, s.sent-1)) + 1
		}
		pos = append(pos, proto.RotatePosition{StreamID: s.id, RotateAtSeqNum: next})
	}
	for i := 0; ; i++ {
		pending, err := c.DataPending(sid, pend, metas)
		if err != nil {
			return st, err
		}
		if !pending {
			break
		}
		if i == 1000 {
			return st, errors.New("relay still misses data after 1000 data-pending rounds")
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := c.RotateStreams(proto.RotateStreams{Positions: pos}); err != nil {
		return st, err
	}
	var mpos []proto.RotatePosition
	for _, m := range metas {
		mpos = append(mpos, proto.RotatePosition{StreamID: m})
	}
	if err := c.RotateStreams(proto.RotateStreams{Positions: mpos}); err != nil {
		return st, err
	}
	if _, err := c.CloseTraceChunk(0, uint64(time.Now().Unix()), nil); err != nil {
		return st, err
	}
	for _, m := range metas {
		if err := c.CloseStream(m, proto.NoSeq); err != nil {
			return st, err
		}
	}
	for _, p := range pend {
		if err := c.CloseStream(p.Stream, p.LastSeq); err != nil {
			return st, err
		}
	}
	return st, nil
}

// seqOf is the packet_seq_num of packet i, or its rank in the stream when
// the packets have none (rotation positions count packets then).
func seqOf(s *dataStream, i int) uint64 {
	if p := &s.packets[i]; p.HasSeq {
		return p.SeqNum
	}
	return uint64(i)
}

// sendPackets sends every packet in the order of their end time.
func sendPackets(ctx context.Context, c *client.Client, all []*dataStream, o Options, st *Stats) error {
	type ref struct {
		s *dataStream
		i int
	}
	var order []ref
	for _, s := range all {
		for i := range s.packets {
			order = append(order, ref{s, i})
		}
	}
	slices.SortStableFunc(order, func(a, b ref) int {
		x, y := a.s.packets[a.i].End, b.s.packets[b.i].End
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	var buf []byte
	start := time.Now()
	lastTick := start
	var ts0 uint64
	if len(order) > 0 {
		ts0 = order[0].s.packets[order[0].i].Begin
	}
	for _, r := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &r.s.packets[r.i]
		if o.Pace == PaceReal && e.End > ts0 {
			due := start.Add(time.Duration(float64(e.End-ts0) * 1e9 / float64(r.s.freq)))
			for {
				wait := time.Until(due)
				if wait <= 0 {
					break
				}
				if o.LiveTimer > 0 {
					wait = min(wait, time.Until(lastTick.Add(o.LiveTimer)))
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(max(wait, 0)):
				}
				if o.LiveTimer > 0 && time.Since(lastTick) >= o.LiveTimer {
					now := ts0 + uint64(time.Since(start).Seconds()*float64(r.s.freq))
					if err := beacons(c, all, now); err != nil {
						return err
					}
					lastTick = time.Now()
				}
			}
		}
		size := uint64(e.Size)
		content := (e.Content + 7) / 8
		if content > size || size > 1<<31 {
			return fmt.Errorf("%s/%s packet %d: content %d bits in a packet of %d bytes", r.s.path, r.s.name, r.i, e.Content, e.Size)
		}
		if uint64(cap(buf)) < content {
			buf = make([]byte, content)
		}
		b := buf[:content]
		if _, err := r.s.files[e.File].ReadAt(b, e.Offset); err != nil {
			return fmt.Errorf("%s/%s packet %d at byte %d: %w", r.s.path, r.s.name, r.i, e.Offset, err)
		}
		seq := proto.SeqNum(r.s.sent)
		// packet_seq_num is always set, to the packet's rank when the
		// trace has none (LTTng before 2.8), as the end's rotation
		// positions count: lttng-relayd 2.13 rotates a stream once an
		// index at or past the position came, so with -1 here the
		// rotation to "no chunk" never completes and its viewers get
		// RETRY for ever instead of the stream's last packets.
		x := proto.SendIndex{RelayStreamID: r.s.id, NetSeqNum: seq, PacketSize: size * 8,
			ContentSize: e.Content, TimestampBegin: e.Begin, TimestampEnd: e.End,
			EventsDiscarded: e.Discarded, StreamID: e.StreamID,
			StreamInstanceID: index.Unknown, PacketSeqNum: proto.SeqNum(seqOf(r.s, r.i))}
		if e.HasInstance {
			x.StreamInstanceID = e.Instance
		}
		if err := c.SendPacket(r.s.id, seq, b, uint32(size-content)); err != nil {
			return err
		}
		if err := c.SendIndex(x); err != nil {
			return err
		}
		r.s.sent++
		r.s.lastTS, r.s.ctfID = e.End, e.StreamID
		r.s.beaconDue = false
		st.Packets++
		st.Bytes += int64(content)
	}
	return nil
}

// beacons sends a live beacon for every stream idle since the last tick.
// A beacon promises that the stream has nothing older than its time, so
// it never goes past the beginning of the stream's next packet: packets
// are sent at their end time, and their events begin earlier (a viewer
// drops events older than ones it already delivered).
func beacons(c *client.Client, all []*dataStream, now uint64) error {
	for _, s := range all {
		ts := now
		if s.sent < len(s.packets) {
			ts = min(ts, s.packets[s.sent].Begin)
		}
		if s.sent > 0 && s.beaconDue && ts > s.lastTS {
			if err := c.SendBeacon(s.id, proto.SeqNum(s.sent-1), s.ctfID, ts); err != nil {
				return err
			}
		}
		s.beaconDue = true
	}
	return nil
}
