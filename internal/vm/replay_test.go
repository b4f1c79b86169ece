package vm

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/record"
	"github.com/tracetop/tracetop/internal/testenv"
)

// replayTracer is a fake guest recorder: it decodes the raw ring-buffer
// pages recorded in a TCG guest (shared fixtures vm/guest-6.1-tcg) with
// ftrace's page decoder and the guest's format files, and writes them as
// CTF to the agent's sink, as the real recorder would.
type replayTracer struct {
	dir      string
	sink     writer.Sink
	hostname string
	events   int
}

func newReplay(t *testing.T, hostname string) (NewTracer, *replayTracer) {
	dir := filepath.Join(testenv.SharedDir(t, "fixtures"), "vm", "guest-6.1-tcg")
	rt := &replayTracer{dir: dir, hostname: hostname}
	return func(cfg GuestConfig, sink writer.Sink, _ record.EventSource) (Tracer, error) {
		rt.sink = sink
		return rt, nil
	}, rt
}

func (r *replayTracer) Start() error {
	hp, err := os.ReadFile(filepath.Join(r.dir, "events", "header_page"))
	if err != nil {
		return err
	}
	layout, err := ftrace.ParseHeaderPage(hp)
	if err != nil {
		return err
	}
	var uuid [16]byte
	rand.Read(uuid[:])
	md := &writer.Metadata{UUID: uuid, Env: []writer.EnvValue{{Key: "hostname", Str: r.hostname}, {Key: "domain", Str: "kernel"}, {Key: "tracer_name", Str: "lttng-modules"}}}
	md.AddStream(writer.StreamClass{ID: 0})
	type cls struct {
		fm *ftrace.Format
		ec *writer.EventClass
	}
	byID := map[uint16]cls{}
	fmts, _ := filepath.Glob(filepath.Join(r.dir, "events", "*", "*", "format"))
	for _, p := range fmts {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fm, err := ftrace.ParseFormat(filepath.Base(filepath.Dir(filepath.Dir(p))), b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		ec := &writer.EventClass{Name: fm.Name}
		for _, f := range fm.Payload() {
			switch f.Kind {
			case ftrace.FieldInt:
				ec.Fields = append(ec.Fields, writer.Field{Name: f.Name, Bits: uint8(f.Size * 8), Signed: f.Signed})
			case ftrace.FieldChars:
				ec.Fields = append(ec.Fields, writer.Field{Name: f.Name, Kind: writer.Text, Len: f.Size})
			case ftrace.FieldDataLoc, ftrace.FieldRelLoc:
				ec.Fields = append(ec.Fields, writer.Str(f.Name))
			}
		}
		if ec, err = md.Add(ec); err != nil {
			return err
		}
		byID[fm.ID] = cls{fm, ec}
	}
	if err := r.sink.WriteMetadata(writer.AppendMetadataPackets(nil, uuid, md.Pending())); err != nil {
		return err
	}
	for cpu := 0; cpu < 2; cpu++ {
		raw, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("cpu%d.raw", cpu)))
		if err != nil {
			return err
		}
		st, err := writer.NewStream(writer.StreamConfig{Name: fmt.Sprintf("channel0_%d", cpu), CPU: uint32(cpu),
			InstanceID: uint64(cpu), PacketSize: 64 << 10, UUID: uuid}, r.sink)
		if err != nil {
			return err
		}
		var p writer.Payload
		var pg ftrace.Page
		var rec ftrace.Record
		var last uint64
		for off := 0; off+layout.PageSize <= len(raw); off += layout.PageSize {
			if err := pg.Reset(raw[off:off+layout.PageSize], layout); err != nil {
				return fmt.Errorf("cpu%d.raw page at 0x%x: %w", cpu, off, err)
			}
			for pg.Next(&rec) {
				c, ok := byID[binary.LittleEndian.Uint16(rec.Data)]
				if !ok {
					return fmt.Errorf("cpu%d.raw page at 0x%x: unknown event id %d", cpu, off, binary.LittleEndian.Uint16(rec.Data))
				}
				p.Reset()
				for _, f := range c.fm.Payload() {
					switch f.Kind {
					case ftrace.FieldInt:
						p.Int(f.Int(rec.Data), uint8(f.Size*8))
					case ftrace.FieldChars:
						p.Text(rec.Data[f.Offset:f.Offset+f.Size], f.Size)
					case ftrace.FieldDataLoc, ftrace.FieldRelLoc:
						p.CString(f.Bytes(rec.Data))
					}
				}
				if err := st.Append(rec.TS, c.ec.ID, nil, p.B); err != nil {
					return err
				}
				last = rec.TS
				r.events++
			}
			if err := pg.Err(); err != nil {
				return fmt.Errorf("cpu%d.raw page at 0x%x: %w", cpu, off, err)
			}
		}
		if err := st.Close(last); err != nil {
			return err
		}
		r.sink.CloseStream(st.Name())
	}
	return nil
}

func (r *replayTracer) Stop() error    { return nil }
func (r *replayTracer) Destroy() error { return nil }
