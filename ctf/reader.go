package ctf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tracetop/tracetop/ctf/ctf2"
	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/tsdl"
)

// Options tune Open.
type Options struct {
	// NoIndex ignores LTTng index files: the packet index is built by
	// reading every packet header.
	NoIndex bool
}

// Reader reads one or more trace folders: every folder holding a
// metadata file under the given paths is a trace; folders with the same
// trace UUID (session rotation chunks) are one trace. All streams of all
// traces are merged in time order. Reader implements Source; it is not
// safe for concurrent use.
type Reader struct {
	traces  []*Trace
	plans   []*tracePlan
	streams []*stream
	pub     []*Stream
	heap    streamHeap
	started bool
	err     error
	tail    tailState // following growing files (tail.go)
}

var _ Source = (*Reader)(nil)

// Open finds the traces under paths, reads and compiles their metadata
// and indexes their packets (from index/*.idx when present). It reads no
// event yet.
func Open(paths []string, opt Options) (*Reader, error) {
	var dirs []string
	for _, p := range paths {
		ds, err := findTraceDirs(p)
		if err != nil {
			return nil, err
		}
		if len(ds) == 0 {
			return nil, fmt.Errorf("ctf: no CTF trace (folder with a metadata file) under %s", p)
		}
		dirs = append(dirs, ds...)
	}
	r := &Reader{}
	type group struct {
		tr    *Trace
		tp    *tracePlan
		dirs  []string
		mlen  int
		files []string
	}
	var groups []*group
	byUUID := map[[16]byte]*group{}
	for _, dir := range dirs {
		mpath := filepath.Join(dir, "metadata")
		b, err := os.ReadFile(mpath)
		if err != nil {
			return nil, fmt.Errorf("ctf: %w", err)
		}
		mt, err := parseMetadata(b)
		if err != nil {
			return nil, &MetadataError{Path: mpath, Err: err}
		}
		tp, err := compileTrace(mt)
		if err != nil {
			return nil, &MetadataError{Path: mpath, Err: err}
		}
		g := (*group)(nil)
		if mt.HasUUID {
			g = byUUID[mt.UUID]
		}
		if g == nil {
			g = &group{}
			if mt.HasUUID {
				byUUID[mt.UUID] = g
			}
			groups = append(groups, g)
		}
		// Later chunks hold at least the classes of the earlier ones.
		if len(b) >= g.mlen {
			g.tp, g.mlen = tp, len(b)
		}
		g.dirs = append(g.dirs, dir)
	}
	for _, g := range groups {
		mt := g.tp.meta
		t := &Trace{Path: g.dirs[0], Dirs: g.dirs, Meta: mt}
		t.Hostname, _ = mt.EnvString("hostname")
		r.traces = append(r.traces, t)
		r.plans = append(r.plans, g.tp)
		if err := r.addStreams(t, g.tp, opt); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// parseMetadata parses CTF 1.8 (TSDL) or CTF 2 (JSON text sequence)
// metadata, plain or packetized.
func parseMetadata(b []byte) (*meta.Trace, error) {
	if ctf2.IsCTF2(b) {
		return ctf2.Parse(b)
	}
	return tsdl.ParseMetadata(b)
}

// findTraceDirs returns the folders under p that hold a metadata file,
// sorted.
func findTraceDirs(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("ctf: %w", err)
	}
	if !st.IsDir() {
		if filepath.Base(p) == "metadata" {
			return []string{filepath.Dir(p)}, nil
		}
		return nil, fmt.Errorf("ctf: %s is not a trace folder", p)
	}
	var dirs []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "metadata" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ctf: %w", err)
	}
	sort.Strings(dirs)
	return dirs, nil
}

// naturalLess orders names with numbers by value: chan_0_2 < chan_0_10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, _ := strconv.ParseUint(a[:da], 10, 64)
			nb, _ := strconv.ParseUint(b[:db], 10, 64)
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// fileIndex is the packet index of one data file and what its first
// packet says.
type fileIndex struct {
	path    string
	size    int64
	packets []PacketInfo
	cpu     int
	sp      *streamPlan
	mem     io.ReaderAt
	err     error // damage after the last good packet
}

// addStreams indexes the data files of a trace and groups them into
// streams.
func (r *Reader) addStreams(t *Trace, tp *tracePlan, opt Options) error {
	var files []*fileIndex
	for _, dir := range t.Dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("ctf: %w", err)
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if n == "metadata" || strings.HasPrefix(n, ".") || !e.Type().IsRegular() {
				continue
			}
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
		for _, n := range names {
			fi, err := indexFile(filepath.Join(dir, n), tp, opt)
			if err != nil {
				return err
			}
			if len(fi.packets) > 0 {
				files = append(files, fi)
			}
		}
	}
	r.group(t, tp, files)
	return nil
}

// group makes streams of indexed data files.
func (r *Reader) group(t *Trace, tp *tracePlan, files []*fileIndex) {
	// One stream per (stream class, stream_instance_id); without an
	// instance id, one stream per file.
	type key struct{ class, inst uint64 }
	byKey := map[key]*stream{}
	var streams []*stream
	var fidx [][]*fileIndex
	for _, fi := range files {
		p0 := fi.packets[0]
		var s *stream
		k := key{p0.StreamID, p0.Instance}
		if p0.HasInstance {
			s = byKey[k]
		}
		if s == nil {
			s = &stream{tp: tp, sp: fi.sp}
			name := filepath.Base(fi.path)
			s.pub = &Stream{Trace: t, Class: fi.sp.class, Name: name, CPU: fi.cpu,
				InstanceID: uint64(len(streams))}
			if p0.HasInstance {
				s.pub.InstanceID = p0.Instance
				byKey[k] = s
			}
			streams = append(streams, s)
			fidx = append(fidx, nil)
		}
		for i, x := range streams {
			if x == s {
				fidx[i] = append(fidx[i], fi)
			}
		}
	}
	for i, s := range streams {
		fs := fidx[i]
		// Rotated files and chunks follow each other in time.
		sort.SliceStable(fs, func(a, b int) bool {
			pa, pb := fs[a].packets[0], fs[b].packets[0]
			if pa.HasTimes && pb.HasTimes && pa.Begin != pb.Begin {
				return pa.Begin < pb.Begin
			}
			return false
		})
		for _, fi := range fs {
			if s.tailErr != nil {
				break // nothing after the damage
			}
			s.tailErr = fi.err
			fno := len(s.files)
			s.files = append(s.files, streamFile{path: fi.path, size: fi.size, mem: fi.mem})
			for _, p := range fi.packets {
				p.File = fno
				s.packets = append(s.packets, p)
			}
		}
		if len(fs) > 1 {
			s.pub.Name = rotationBase(s.pub.Name)
		}
		s.pub.Files = nil
		for _, f := range s.files {
			s.pub.Files = append(s.pub.Files, f.path)
		}
		s.order = len(r.streams)
		s.pub.reader = s
		r.streams = append(r.streams, s)
		r.pub = append(r.pub, s.pub)
	}
}

// memReader reads data held in memory as the single stream file of a
// compiled trace (fuzzing).
func memReader(tp *tracePlan, data []byte) (*Reader, error) {
	t := &Trace{Path: "mem", Dirs: []string{"mem"}, Meta: tp.meta}
	r := &Reader{traces: []*Trace{t}, plans: []*tracePlan{tp}}
	if len(data) == 0 {
		return r, nil
	}
	fi, err := indexData("stream", bytes.NewReader(data), int64(len(data)), tp, Options{NoIndex: true})
	if err != nil {
		return nil, err
	}
	fi.mem = bytes.NewReader(data)
	if len(fi.packets) > 0 {
		r.group(t, tp, []*fileIndex{fi})
	}
	return r, nil
}

// rotationBase strips the tracefile rotation suffix of chan_0_3.
func rotationBase(n string) string {
	i := strings.LastIndexByte(n, '_')
	if i > 0 && digitPrefix(n[i+1:]) == len(n)-i-1 && i+1 < len(n) {
		return n[:i]
	}
	return n
}

// indexFile builds the packet index of one data file, from its LTTng
// index file when there is one, else by reading the packet headers.
func indexFile(path string, tp *tracePlan, opt Options) (*fileIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ctf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ctf: %w", err)
	}
	return indexData(path, f, st.Size(), tp, opt)
}

// indexData builds the packet index of the data of one stream file.
func indexData(path string, f io.ReaderAt, size int64, tp *tracePlan, opt Options) (*fileIndex, error) {
	fi := &fileIndex{path: path, size: size, cpu: -1}
	if fi.size == 0 {
		return fi, nil
	}
	var d decoder
	var buf []byte
	var root [7]int32
	// head decodes the header and context of the packet at off.
	head := func(off int64) (headInfo, error) {
		want := int64(4096)
		for {
			n := min(want, fi.size-off)
			if int64(cap(buf)) < n+bufPad {
				buf = make([]byte, n+bufPad)
			}
			buf = buf[:n+bufPad]
			clear(buf[n:])
			if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
				return headInfo{}, fmt.Errorf("ctf: %w", err)
			}
			d = decoder{buf: buf, end: uint64(n) * 8, vals: d.vals[:0], text: d.text[:0], root: &root, stack: d.stack[:0]}
			h, err := decodeHead(&d, tp, fi.size-off)
			if err != nil && n < fi.size-off && d.err != nil {
				want *= 4 // the header may continue past what was read
				continue
			}
			if err != nil {
				var de *decodeError
				bit := uint64(0)
				if errors.As(err, &de) {
					bit = de.bit
				}
				return h, &FormatError{File: path, Off: off + int64(bit/8), Msg: err.Error()}
			}
			return h, nil
		}
	}
	// cutPacket adds the packet at off that the end of the file cuts:
	// its events up to the end of the file are read, then the error.
	cutPacket := func(h headInfo, off int64, err error) {
		h.PacketInfo.Offset = off
		h.PacketInfo.Size = fi.size - off
		h.PacketInfo.declared = int64(h.size / 8)
		fi.packets = append(fi.packets, h.PacketInfo)
		fi.err = err
	}
	h0, err := head(0)
	if err != nil {
		if !h0.cut {
			return nil, err
		}
		fi.sp = h0.sp
		fi.cpu = cpuID(&d)
		cutPacket(h0, 0, err)
		return fi, nil
	}
	fi.sp = h0.sp
	fi.cpu = cpuID(&d)
	if !opt.NoIndex {
		ipath := filepath.Join(filepath.Dir(path), "index", filepath.Base(path)+".idx")
		if ih, ents, err := index.ReadFile(ipath); err == nil && len(ents) > 0 {
			var off int64
			for i, e := range ents {
				if int64(e.Offset) == off && e.PacketSize%8 == 0 && int64(e.PacketSize/8) > fi.size-off {
					// The data file ends before this packet does (a cut
					// file): the packets say where the events stop.
					break
				}
				if int64(e.Offset) != off || e.PacketSize%8 != 0 || e.PacketSize == 0 ||
					e.ContentSize > e.PacketSize {
					return nil, &FormatError{File: ipath, Off: int64(index.HeaderSize) + int64(i)*int64(ih.EntrySize),
						Msg: fmt.Sprintf("index entry %d (packet at byte %#x, %d bits) does not match the data file of %d bytes", i, e.Offset, e.PacketSize, fi.size)}
				}
				p := PacketInfo{Offset: off, Size: int64(e.PacketSize / 8), Content: e.ContentSize,
					Begin: e.TimestampBegin, End: e.TimestampEnd, HasTimes: h0.HasTimes,
					Discarded: e.EventsDiscarded, HasDisc: h0.HasDisc, StreamID: e.StreamID,
					Instance: h0.Instance, HasInstance: h0.HasInstance, fromIndex: true}
				if e.PacketSeqNum != index.Unknown {
					p.SeqNum, p.HasSeq = e.PacketSeqNum, h0.HasSeq
				}
				fi.packets = append(fi.packets, p)
				off += p.Size
			}
			if off == fi.size && fi.packets[0].Size*8 == int64(h0.size) && fi.packets[0].Content == h0.Content {
				return fi, nil
			}
			if off == fi.size {
				return nil, &FormatError{File: ipath, Off: index.HeaderSize,
					Msg: fmt.Sprintf("first packet of %d bits with %d bits of content, but the data file says %d and %d",
						fi.packets[0].Size*8, fi.packets[0].Content, h0.size, h0.Content)}
			}
			// An index that does not cover the file (a trace still being
			// written): build the index from the packets instead.
			fi.packets = fi.packets[:0]
		}
	}
	off := int64(0)
	h := h0
	for {
		h.PacketInfo.Offset = off
		h.PacketInfo.Size = int64(h.size / 8)
		fi.packets = append(fi.packets, h.PacketInfo)
		off += int64(h.size / 8)
		if off >= fi.size {
			break
		}
		// Damage after the first packet: the stream delivers every event
		// before it, then the error.
		if h, err = head(off); err != nil {
			if h.cut && h.sp == fi.sp {
				cutPacket(h, off, err)
				break
			}
			fi.err = err
			break
		}
		if h.sp != fi.sp {
			fi.err = &FormatError{File: path, Off: off, Msg: fmt.Sprintf("packet of stream class %d in a file of stream class %d", h.StreamID, fi.sp.class.ID)}
			break
		}
	}
	return fi, nil
}

// cpuID returns the cpu_id member of the packet context just decoded, -1
// when there is none.
func cpuID(d *decoder) int {
	ri := d.root[meta.ScopePacketContext]
	if ri < 0 {
		return -1
	}
	r := &d.vals[ri]
	i := r.Class.FieldIndex("cpu_id")
	if i < 0 || int32(i) >= r.N {
		return -1
	}
	return int(d.vals[r.Start+int32(i)].Bits)
}

// Traces returns the traces read.
func (r *Reader) Traces() []*Trace { return r.traces }

// Streams returns every stream of every trace, in a stable order.
func (r *Reader) Streams() []*Stream { return r.pub }

// Close closes the data files.
func (r *Reader) Close() error {
	for _, s := range r.streams {
		for i := range s.files {
			s.files[i].close()
		}
	}
	return nil
}

// Read decodes the next message, in time order over all streams, into
// ev; io.EOF at the end. After an error (a *FormatError naming the file
// and byte offset) every message before the damage has been delivered
// and later calls return the same error.
func (r *Reader) Read(ev *Event) error {
	if !r.started {
		r.start()
	}
	if r.err != nil {
		return r.err
	}
	if len(r.heap) == 0 {
		return io.EOF
	}
	s := r.heap[0]
	if !s.valid {
		r.err = s.err
		return r.err
	}
	// Hand the decoded message over and give the stream buffers to decode
	// the next one into (one copy of the Event, no allocation once every
	// stream has its buffers).
	vals, text, stamp := ev.Values, ev.Text, ev.stamp
	var from *stream // the stream whose message ev held
	if ev.Stream != nil {
		if x := ev.Stream.reader; x != nil && x.order < len(r.streams) && r.streams[x.order] == x {
			from = x
		}
	}
	*ev = s.head
	if from != nil && from != s {
		// ev's buffers start with the values of a packet of from, not of
		// s: keep them for from, and give s its own spare. Streams take
		// turns in the merge; without this, the packet's values (a
		// kilobyte for an LTTng kernel stream) would be copied into
		// nearly every event.
		if s.hasSpare {
			s.hasSpare = false
			svals, stext, sstamp := s.spareVals, s.spareText, s.spareStamp
			s.spareVals, s.spareText = nil, nil
			if !from.hasSpare {
				from.spareVals, from.spareText, from.spareStamp, from.hasSpare = vals, text, stamp, true
			} else {
				s.spareVals, s.spareText, s.spareStamp, s.hasSpare = vals, text, stamp, true
			}
			vals, text, stamp = svals, stext, sstamp
		} else if !from.hasSpare {
			from.spareVals, from.spareText, from.spareStamp, from.hasSpare = vals, text, stamp, true
			vals, text, stamp = nil, nil, 0 // a new buffer, once per stream
		}
	}
	s.head.Values, s.head.Text, s.head.stamp = vals, text, stamp
	s.advance()
	if s.valid || s.err != nil {
		r.heap.fix0()
	} else {
		r.heap.pop0()
	}
	return nil
}

func (r *Reader) start() {
	r.started = true
	r.heap = r.heap[:0]
	for _, s := range r.streams {
		if !s.valid && s.err == nil && !s.done {
			s.advance()
		}
		if s.valid || s.err != nil {
			r.heap = append(r.heap, s)
		}
	}
	r.heap.init()
}

// SeekTime positions every stream at its first message at or after ns
// (nanoseconds from the clock origin), using the packet index: only the
// packet holding ns is decoded from its start. Messages of streams
// without a clock restart from their beginning.
func (r *Reader) SeekTime(ns int64) error {
	r.err = nil
	for _, s := range r.streams {
		if err := s.seek(ns); err != nil {
			return err
		}
	}
	r.started = false
	r.start()
	return nil
}

func (s *stream) seek(ns int64) error {
	s.err, s.done, s.valid, s.inPacket = nil, false, false, false
	s.pendDisc, s.pendLost = 0, 0
	s.havePrev, s.prevDisc, s.prevSeq, s.prevEnd = false, 0, 0, 0
	cv := s.sp.clock
	s.pi = 0
	if cv != nil {
		// Last packet that begins at or before ns.
		i := sort.Search(len(s.packets), func(i int) bool {
			p := &s.packets[i]
			if !p.HasTimes {
				return false
			}
			t, _ := cv.ns(p.Begin)
			return t > ns
		})
		if i > 0 {
			i--
		}
		s.pi = i
		if i > 0 {
			q := &s.packets[i-1]
			s.havePrev = true
			s.prevDisc, s.prevSeq, s.prevEnd = q.Discarded, q.SeqNum, q.End
		}
	}
	for {
		s.advance()
		if !s.valid {
			return nil
		}
		if cv == nil || s.head.NS >= ns && (s.head.Kind == KindEvent || s.head.HasBounds) {
			return nil
		}
	}
}

func (r *Reader) packetLoads() (n int) {
	for _, s := range r.streams {
		n += s.loads
	}
	return n
}

func (r *Reader) packetCount() (n int) {
	for _, s := range r.streams {
		n += len(s.packets)
	}
	return n
}

// streamHeap is a min-heap of streams keyed by their next message's time,
// then by stream order (deterministic ties).
type streamHeap []*stream

func (h streamHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.order < b.order
}

func (h streamHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h streamHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h streamHeap) fix0() { h.down(0) }

func (h *streamHeap) pop0() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}
