package ctf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrMetadataChanged is returned by Refresh when the trace's metadata grew
// since Open: the reader cannot decode the new classes; open the trace
// again (and SeekTime to where it was).
var ErrMetadataChanged = errors.New("ctf: metadata changed since the trace was opened")

// Refresh picks up what a tracer appended to the trace folders since Open
// or the last Refresh: complete packets at the end of the stream files,
// and stream files that were empty or absent. A packet still being
// written (its header or its bytes not all there) is left for a later
// Refresh. Streams that had been read to their end go on with their new
// packets; messages already returned are not returned again, and the
// merge stays in time order as long as the new packets follow what was
// read (a live tracer's streams, read up to the time all of them have
// completed). It returns the number of packets added.
//
// Refresh reads only the new bytes: following a growing trace costs what
// the new events cost, not the session's length.
func (r *Reader) Refresh() (int, error) {
	added := 0
	for ti, t := range r.traces {
		tp := r.plans[ti]
		if st, err := os.Stat(filepath.Join(t.Dirs[len(t.Dirs)-1], "metadata")); err == nil {
			if r.tail.metaSizes == nil {
				r.tail.metaSizes = make([]int64, len(r.traces))
			}
			if m := r.tail.metaSizes[ti]; m != 0 && m != st.Size() {
				return added, ErrMetadataChanged
			}
			r.tail.metaSizes[ti] = st.Size()
		}
		known := map[string]bool{}
		for _, s := range r.streams {
			if s.tp != tp {
				continue
			}
			n, err := s.grow()
			if err != nil {
				return added, err
			}
			if n > 0 {
				added += n
				r.resume(s)
			}
			for _, f := range s.files {
				known[f.path] = true
			}
		}
		// Stream files that had no complete packet yet.
		dir := t.Dirs[len(t.Dirs)-1]
		ents, err := os.ReadDir(dir)
		if err != nil {
			return added, fmt.Errorf("ctf: %w", err)
		}
		var fresh []*fileIndex
		for _, e := range ents {
			n := e.Name()
			p := filepath.Join(dir, n)
			if n == "metadata" || strings.HasPrefix(n, ".") || !e.Type().IsRegular() || known[p] {
				continue
			}
			fi, err := indexGrowing(p, tp, 0, nil)
			if err != nil {
				return added, err
			}
			if fi != nil && len(fi.packets) > 0 {
				fresh = append(fresh, fi)
			}
		}
		if len(fresh) > 0 {
			sort.Slice(fresh, func(i, j int) bool { return naturalLess(fresh[i].path, fresh[j].path) })
			n0 := len(r.streams)
			r.group(t, tp, fresh)
			for _, s := range r.streams[n0:] {
				added += len(s.packets)
				r.resume(s)
			}
		}
	}
	return added, nil
}

// tailState is what Refresh remembers between calls.
type tailState struct {
	// metaSizes are the sizes of the traces' metadata files at the first
	// Refresh.
	metaSizes []int64
}

// resume puts a stream that has new packets back into the merge.
func (r *Reader) resume(s *stream) {
	if !r.started || s.valid || s.err != nil {
		return
	}
	s.done = false
	s.advance()
	if s.valid || s.err != nil {
		r.heap = append(r.heap, s)
		r.heap.init()
	}
}

// grow indexes the complete packets appended to the stream's last file.
func (s *stream) grow() (int, error) {
	if len(s.files) == 0 {
		return 0, nil
	}
	fno := len(s.files) - 1
	f := &s.files[fno]
	if f.mem != nil {
		return 0, nil
	}
	end := int64(0)
	for i := len(s.packets) - 1; i >= 0; i-- {
		if s.packets[i].File == fno {
			end = s.packets[i].Offset + s.packets[i].Size
			break
		}
	}
	fi, err := indexGrowing(f.path, s.tp, end, s.sp)
	if err != nil || fi == nil {
		return 0, err
	}
	for _, p := range fi.packets {
		p.File = fno
		s.packets = append(s.packets, p)
	}
	if fi.size > f.size {
		f.size = fi.size
	}
	return len(fi.packets), nil
}

// indexGrowing indexes the complete packets of a file from byte off on;
// nil when there is nothing new. sp, when set, is the stream class the
// packets must have.
func indexGrowing(path string, tp *tracePlan, off int64, sp *streamPlan) (*fileIndex, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("ctf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("ctf: %w", err)
	}
	size := st.Size()
	if size <= off {
		return nil, nil
	}
	fi := &fileIndex{path: path, size: size, cpu: -1, sp: sp}
	var d decoder
	var buf []byte
	var root [7]int32
	for off < size {
		n := min(int64(4096), size-off)
		if int64(cap(buf)) < n+bufPad {
			buf = make([]byte, n+bufPad)
		}
		buf = buf[:n+bufPad]
		clear(buf[n:])
		if _, err := fh.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return nil, fmt.Errorf("ctf: %w", err)
		}
		d = decoder{buf: buf, end: uint64(n) * 8, vals: d.vals[:0], text: d.text[:0], root: &root, stack: d.stack[:0]}
		h, err := decodeHead(&d, tp, size-off)
		if err != nil {
			// A packet not all written yet; a damaged one is reported
			// when the file stops growing and the trace is opened again.
			break
		}
		if fi.sp == nil {
			fi.sp = h.sp
		}
		if h.sp != fi.sp {
			return nil, &FormatError{File: path, Off: off, Msg: fmt.Sprintf("packet of stream class %d in a file of stream class %d", h.StreamID, fi.sp.class.ID)}
		}
		if len(fi.packets) == 0 && off == 0 {
			fi.cpu = cpuID(&d)
		}
		h.PacketInfo.Offset = off
		h.PacketInfo.Size = int64(h.size / 8)
		fi.packets = append(fi.packets, h.PacketInfo)
		off += int64(h.size / 8)
	}
	fi.size = off
	return fi, nil
}

// Span returns the times (ns from the clock origin) of the beginning of
// the stream's first packet and of the end of its last packet, as far as
// read (Refresh extends it): when a CPU's stream starts late or ends
// early, that CPU was offline (hotplug) before or after. ok is false
// without packet times.
func (s *Stream) Span() (begin, end int64, ok bool) {
	st := s.reader
	if st == nil || len(st.packets) == 0 || st.sp.clock == nil {
		return 0, 0, false
	}
	p0, pn := &st.packets[0], &st.packets[len(st.packets)-1]
	if !p0.HasTimes || !pn.HasTimes {
		return 0, 0, false
	}
	begin, _ = st.sp.clock.ns(p0.Begin)
	end, _ = st.sp.clock.ns(pn.End)
	return begin, end, true
}

// Next returns the time of the message the next Read returns, without
// reading it; ok is false at the end (or after an error).
func (r *Reader) Next() (ns int64, cycles uint64, ok bool) {
	if !r.started {
		r.start()
	}
	if r.err != nil || len(r.heap) == 0 || !r.heap[0].valid {
		return 0, 0, false
	}
	h := &r.heap[0].head
	return h.NS, h.Cycles, true
}
