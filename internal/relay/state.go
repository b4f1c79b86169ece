package relay

import (
	"fmt"
	"os"
	"path"
	"strconv"

	"github.com/tracetop/tracetop/ctf/index"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

type chunkKey struct {
	uuid     [16]byte
	sessiond uint64
	id       proto.ChunkID
	legacy   proto.SessionID // pre-2.11 peers: one implicit chunk per relay session
}

// chunk is a trace chunk: a directory holding a time span of a session.
type chunk struct {
	key     chunkKey
	id      proto.ChunkID
	created uint64
	name    string   // override name ("" = none)
	root    *os.Root // follows the directory across renames
	rel     string   // current path relative to the output root
	sessDir string
	first   bool // created as the session directory itself
	moved   bool // a first chunk whose content was moved to .tmp_old_chunk
	closed  bool
}

// session is a relay session: one control connection of one tracer.
type session struct {
	id          proto.SessionID
	name, host  string
	basePath    string
	liveTimer   uint32
	snapshot    bool
	uuid        [16]byte
	sessiondID  uint64
	created     uint64
	minor       uint32
	nameHasTime bool
	dir         string // relative to the output root

	current      *chunk
	pendingClose *chunk
	hadChunk     bool

	connClosed bool
	traces     map[string]*trace
	streams    []*stream // every stream ever added, in handle order
	alive      int       // streams not closed
	viewers    int       // attached viewer connections
	removed    bool
}

type trace struct {
	id       uint64
	path     string
	metadata *stream
}

// half is one packet's index halves, keyed by net_seq_num.
type half struct {
	hasData, hasIndex bool
	seg               *segment
	off, size         uint64
	idx               proto.SendIndex
}

// segment is one data file (and its index file) of a stream: a stream has
// one per trace chunk and per tracefile of a tracefile ring.
type segment struct {
	chunk    *chunk
	dataName string // path inside the chunk
	idxName  string
	data     *os.File
	direct   *os.File // O_DIRECT descriptor of data, opened at first use
	noDirect bool     // the file system refuses O_DIRECT
	size     uint64
	idx      *os.File
	idxW     *index.Writer
	first    int64 // global number of the segment's first index entry
	count    int64
	gone     bool // overwritten by the tracefile ring
}

type rotation struct {
	target *chunk // nil = no chunk
	pivot  proto.SeqNum
}

// stream is a relay stream.
type stream struct {
	id        proto.StreamID
	sess      *session
	trace     *trace
	channel   string
	path      string // trace directory inside the chunk
	metadata  bool
	tfSize    uint64
	tfCount   uint64
	tfIndex   uint64
	published bool

	closeRequested bool
	closed         bool
	lastNetSeq     proto.SeqNum

	prevDataSeq  proto.SeqNum
	prevIndexSeq proto.SeqNum
	halves       map[proto.SeqNum]*half
	inFlight     int
	writing      int // data writes in progress outside the lock

	segs    []*segment
	cur     *segment // segment receiving data; nil = no chunk
	entries int64    // R: index entries written

	beacon    uint64
	hasBeacon bool
	ctfID     uint64
	hasCTFID  bool
	seqDelta  uint64 // net_seq_num - packet_seq_num of the last index

	// metadata streams
	metaChunk    *chunk
	metaFile     *os.File
	metaName     string
	metaReceived uint64

	rot     *rotation
	checked bool
}

func (st *stream) dataFileName() string {
	if st.tfSize > 0 {
		return st.channel + "_" + strconv.FormatUint(st.tfIndex, 10)
	}
	return st.channel
}

func (st *stream) keepsIndex() bool { return !st.sess.snapshot && st.sess.minor >= 4 }

func (st *stream) indexVersion() index.Version {
	if st.sess.minor >= 8 {
		return index.Version11
	}
	return index.Version10
}

// openSegment starts a new data file in chunk c (nil: no chunk).
func (st *stream) openSegment(c *chunk) error {
	if st.cur != nil && st.cur.data != nil {
		st.cur.closeData()
	}
	// Index files of segments before the previous one get no more entries.
	if n := len(st.segs); n >= 2 {
		if old := st.segs[n-2]; old.idx != nil {
			old.idx.Close()
			old.idx, old.idxW = nil, nil
		}
	}
	if c == nil {
		st.cur = nil
		return nil
	}
	name := st.dataFileName()
	// The index folder comes with the first data file of a stream that
	// keeps indexes: after a crash, Recover finds the trace by it and cuts
	// the packets received without their index, even before the first.
	dir := st.path
	if st.keepsIndex() {
		dir = path.Join(st.path, "index")
	}
	if err := c.root.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create trace folder %q: %w", path.Join(c.rel, dir), err)
	}
	f, err := c.root.OpenFile(path.Join(st.path, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("create data file: %w", err)
	}
	seg := &segment{chunk: c, dataName: path.Join(st.path, name), idxName: path.Join(st.path, "index", name+".idx"), data: f, first: st.entries}
	if st.tfSize > 0 && st.tfCount > 0 {
		for _, o := range st.segs {
			if o.chunk == c && o.dataName == seg.dataName {
				o.gone = true
			}
		}
	}
	st.segs = append(st.segs, seg)
	st.cur = seg
	return nil
}

func (seg *segment) closeData() {
	seg.data.Close()
	seg.data = nil
	if seg.direct != nil {
		seg.direct.Close()
		seg.direct = nil
	}
}

// writeEntry appends a complete index entry to the file of its segment.
func (st *stream) writeEntry(h *half) error {
	seg := h.seg
	if seg.idxW == nil {
		if seg.count > 0 {
			return fmt.Errorf("index file %q closed", seg.idxName)
		}
		if err := seg.chunk.root.MkdirAll(path.Dir(seg.idxName), 0o750); err != nil {
			return fmt.Errorf("create index folder: %w", err)
		}
		f, err := seg.chunk.root.OpenFile(seg.idxName, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("create index file: %w", err)
		}
		w, err := index.NewWriter(f, st.indexVersion())
		if err != nil {
			f.Close()
			return err
		}
		seg.idx, seg.idxW = f, w
	}
	x := &h.idx
	if err := seg.idxW.Write(index.Entry{
		Offset: h.off, PacketSize: x.PacketSize, ContentSize: x.ContentSize,
		TimestampBegin: x.TimestampBegin, TimestampEnd: x.TimestampEnd,
		EventsDiscarded: x.EventsDiscarded, StreamID: x.StreamID,
		StreamInstanceID: x.StreamInstanceID, PacketSeqNum: uint64(x.PacketSeqNum),
	}); err != nil {
		return err
	}
	seg.count++
	st.entries++
	return nil
}

func (st *stream) closeFiles() {
	for _, seg := range st.segs {
		if seg.data != nil && st.writing == 0 {
			seg.closeData()
		}
		if seg.idx != nil {
			seg.idx.Close()
			seg.idx, seg.idxW = nil, nil
		}
	}
	if st.metaFile != nil {
		st.metaFile.Close()
		st.metaFile = nil
	}
}

// seqGE reports a >= b on the wrapping 64-bit sequence space.
func seqGE(a, b proto.SeqNum) bool { return int64(a-b) >= 0 }
