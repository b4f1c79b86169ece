package ctf2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracetop/tracetop/ctf/meta"
	"github.com/tracetop/tracetop/ctf/tsdl"
)

// ErrSyntax is matched (errors.Is) by every *Error.
var ErrSyntax = errors.New("invalid CTF 2 metadata")

// Error is a metadata error: the fragment (1-based, in stream order) and
// the JSON path inside it where it was found.
type Error struct {
	Fragment int
	Path     string
	Msg      string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("ctf2: fragment %d: %s: %s", e.Fragment, e.Path, e.Msg)
	}
	return fmt.Sprintf("ctf2: fragment %d: %s", e.Fragment, e.Msg)
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *Error) Is(t error) bool { return t == ErrSyntax }

// maxDepth bounds field class nesting.
const maxDepth = 200

// recordSeparator starts each fragment of the JSON text sequence.
const recordSeparator = 0x1E

// IsCTF2 reports whether metadata bytes are CTF 2: a JSON text sequence,
// or packets whose header says version 2.
func IsCTF2(b []byte) bool {
	if tsdl.IsPacketized(b) {
		_, h, err := tsdl.UnpacketizeHeader(b)
		return err == nil && h.Major == 2
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == recordSeparator
}

type parser struct {
	tr      *meta.Trace
	aliases map[string]*meta.Class
	frag    int
	depth   int
	// clock is the default clock of the data stream class being read, for
	// the MapClock of timestamp fields.
	clock string
	scope meta.Scope
}

func (p *parser) errf(path, format string, args ...any) error {
	return &Error{Fragment: p.frag, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses CTF 2 metadata, a JSON text sequence (RFC 7464), plain or
// packetized, final CTF 2.0 syntax or the pre-release draft
// (fixed-length-*-enumeration types, bare-array field locations, clock
// uuid arrays, default-clock-class-name).
func Parse(b []byte) (*meta.Trace, error) {
	if tsdl.IsPacketized(b) {
		text, h, err := tsdl.UnpacketizeHeader(b)
		if err != nil {
			return nil, err
		}
		if h.Major != 2 {
			return nil, fmt.Errorf("ctf2: metadata packets say version %d.%d, want 2.0", h.Major, h.Minor)
		}
		b = text
	}
	p := &parser{tr: &meta.Trace{Major: 2, Minor: 0}, aliases: map[string]*meta.Class{}}
	type pending struct {
		frag int
		obj  map[string]any
	}
	var events []pending
	streams := map[uint64]*meta.Stream{}
	orderSet := false
	frags := bytes.Split(b, []byte{recordSeparator})
	if len(bytes.TrimSpace(frags[0])) != 0 {
		return nil, &Error{Fragment: 1, Msg: "metadata does not start with a record separator (0x1E)"}
	}
	for i, raw := range frags[1:] {
		p.frag = i + 1
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, p.errf("", "bad JSON: %v", err)
		}
		if dec.More() {
			return nil, p.errf("", "more than one JSON value in the fragment")
		}
		typ, _ := obj["type"].(string)
		if p.frag == 1 && typ != "preamble" {
			return nil, p.errf("type", "first fragment is %q, want \"preamble\"", typ)
		}
		switch typ {
		case "preamble":
			if p.frag != 1 {
				return nil, p.errf("type", "second preamble")
			}
			v, err := p.uint(obj, "version", "version")
			if err != nil {
				return nil, err
			}
			if v != 2 {
				return nil, p.errf("version", "version %d, want 2", v)
			}
			if u, ok := obj["uuid"]; ok {
				if p.tr.UUID, err = p.uuid(u, "uuid"); err != nil {
					return nil, err
				}
				p.tr.HasUUID = true
			}
		case "field-class-alias":
			name, _ := obj["name"].(string)
			if name == "" {
				return nil, p.errf("name", "field class alias without a name")
			}
			if _, dup := p.aliases[name]; dup {
				return nil, p.errf("name", "field class alias %q defined twice", name)
			}
			c, err := p.class(obj["field-class"], "field-class")
			if err != nil {
				return nil, err
			}
			p.aliases[name] = c
		case "trace-class":
			if env, ok := obj["environment"].(map[string]any); ok {
				for _, k := range documentKeys(raw, "environment", env) {
					e := meta.EnvEntry{Key: k}
					switch v := env[k].(type) {
					case string:
						e.Str = v
					case json.Number:
						n, err := v.Int64()
						if err != nil {
							return nil, p.errf("environment."+k, "integer %s out of range", v)
						}
						e.Int, e.IsInt = n, true
					default:
						return nil, p.errf("environment."+k, "value must be a string or an integer")
					}
					p.tr.Env = append(p.tr.Env, e)
				}
			}
			if u, ok := obj["uuid"]; ok && !p.tr.HasUUID {
				var err error
				if p.tr.UUID, err = p.uuid(u, "uuid"); err != nil {
					return nil, err
				}
				p.tr.HasUUID = true
			}
			if fc, ok := obj["packet-header-field-class"]; ok {
				p.scope = meta.ScopePacketHeader
				c, err := p.class(fc, "packet-header-field-class")
				if err != nil {
					return nil, err
				}
				p.tr.PacketHeader = c
				if o, ok := firstOrder(c); ok {
					p.tr.ByteOrder, orderSet = o, true
				}
			}
		case "clock-class":
			c, err := p.clockClass(obj)
			if err != nil {
				return nil, err
			}
			if p.tr.Clock(c.Name) != nil {
				return nil, p.errf("id", "clock class %q defined twice", c.Name)
			}
			p.tr.Clocks = append(p.tr.Clocks, c)
		case "data-stream-class":
			s, err := p.streamClass(obj)
			if err != nil {
				return nil, err
			}
			if streams[s.ID] != nil {
				return nil, p.errf("id", "data stream class %d defined twice", s.ID)
			}
			streams[s.ID] = s
			p.tr.Streams = append(p.tr.Streams, s)
			if !orderSet {
				for _, c := range []*meta.Class{s.PacketContext, s.EventHeader, s.EventContext} {
					if o, ok := firstOrder(c); ok {
						p.tr.ByteOrder, orderSet = o, true
						break
					}
				}
			}
		case "event-record-class":
			events = append(events, pending{p.frag, obj})
		case "":
			return nil, p.errf("type", "fragment without a type")
		default:
			return nil, p.errf("type", "unknown fragment type %q", typ)
		}
	}
	if p.frag == 0 {
		return nil, &Error{Fragment: 0, Msg: "empty metadata"}
	}
	for _, pe := range events {
		p.frag = pe.frag
		sid, err := p.optUint(pe.obj, "data-stream-class-id", 0)
		if err != nil {
			return nil, err
		}
		s := streams[sid]
		if s == nil {
			return nil, p.errf("data-stream-class-id", "data stream class %d is not defined", sid)
		}
		p.clock = ""
		if s.Clock != nil {
			p.clock = s.Clock.Name
		}
		e := &meta.Event{StreamID: sid}
		if e.ID, err = p.optUint(pe.obj, "id", 0); err != nil {
			return nil, err
		}
		e.Name, _ = pe.obj["name"].(string)
		for _, o := range s.Events {
			if o.ID == e.ID {
				return nil, p.errf("id", "event record class id %d of data stream class %d is already used by %q", e.ID, sid, o.Name)
			}
		}
		if fc, ok := pe.obj["specific-context-field-class"]; ok {
			p.scope = meta.ScopeEventSpecificContext
			if e.Context, err = p.structClass(fc, "specific-context-field-class"); err != nil {
				return nil, err
			}
		}
		if fc, ok := pe.obj["payload-field-class"]; ok {
			p.scope = meta.ScopeEventPayload
			if e.Payload, err = p.structClass(fc, "payload-field-class"); err != nil {
				return nil, err
			}
		}
		s.Events = append(s.Events, e)
	}
	// CTF 2 has no trace byte order: take the first field's, for readers
	// that want one (a CTF 1.8 twin says the same).
	for _, s := range p.tr.Streams {
		for _, e := range s.Events {
			for _, c := range []*meta.Class{e.Context, e.Payload} {
				if o, ok := firstOrder(c); ok && !orderSet {
					p.tr.ByteOrder, orderSet = o, true
				}
			}
		}
	}
	tn, _ := p.tr.EnvString("tracer_name")
	if strings.HasPrefix(tn, "lttng") {
		for _, c := range p.tr.Clocks {
			c.UnixEpoch = true
		}
	}
	return p.tr, nil
}

// documentKeys returns the keys of the object member key of the fragment
// raw in document order (the environment is ordered), falling back to
// sorted keys.
func documentKeys(raw []byte, key string, m map[string]any) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return sortedKeys(m)
	}
	dec := json.NewDecoder(bytes.NewReader(top[key]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return sortedKeys(m)
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return sortedKeys(m)
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return sortedKeys(m)
		}
	}
	if len(keys) != len(m) {
		return sortedKeys(m) // duplicate keys: the map kept the last
	}
	return keys
}

func sortedKeys(m map[string]any) []string {
	// JSON objects are unordered; keep a stable order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// firstOrder returns the byte order of the first fixed-length field of c.
func firstOrder(c *meta.Class) (meta.ByteOrder, bool) {
	if c == nil {
		return 0, false
	}
	switch c.Kind {
	case meta.KindInt, meta.KindEnum, meta.KindFloat:
		return c.Order, true
	}
	for _, f := range c.Fields {
		if o, ok := firstOrder(f.Class); ok {
			return o, true
		}
	}
	if c.Elem != nil {
		return firstOrder(c.Elem)
	}
	return 0, false
}

func num(v any) (json.Number, bool) {
	n, ok := v.(json.Number)
	return n, ok
}

func (p *parser) uint(obj map[string]any, key, path string) (uint64, error) {
	n, ok := num(obj[key])
	if !ok {
		return 0, p.errf(path, "missing or not a number")
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0, p.errf(path, "%s is not an unsigned 64-bit integer", n)
	}
	return v, nil
}

func (p *parser) optUint(obj map[string]any, key string, def uint64) (uint64, error) {
	if _, ok := obj[key]; !ok {
		return def, nil
	}
	return p.uint(obj, key, key)
}

func (p *parser) int(v any, path string) (int64, error) {
	n, ok := num(v)
	if !ok {
		return 0, p.errf(path, "not a number")
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, p.errf(path, "%s is not a 64-bit integer", n)
	}
	return i, nil
}

// uuid reads a UUID as a string or as an array of 16 bytes.
func (p *parser) uuid(v any, path string) ([16]byte, error) {
	var u [16]byte
	switch v := v.(type) {
	case []any:
		if len(v) != 16 {
			return u, p.errf(path, "uuid has %d bytes, want 16", len(v))
		}
		for i, x := range v {
			n, err := p.int(x, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return u, err
			}
			if n < 0 || n > 255 {
				return u, p.errf(fmt.Sprintf("%s[%d]", path, i), "%d is not a byte", n)
			}
			u[i] = byte(n)
		}
		return u, nil
	case string:
		s := strings.ReplaceAll(v, "-", "")
		if len(s) != 32 {
			return u, p.errf(path, "malformed uuid %q", v)
		}
		for i := range 16 {
			x, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
			if err != nil {
				return u, p.errf(path, "malformed uuid %q", v)
			}
			u[i] = byte(x)
		}
		return u, nil
	}
	return u, p.errf(path, "uuid must be a string or an array of 16 bytes")
}

func (p *parser) clockClass(obj map[string]any) (*meta.Clock, error) {
	c := &meta.Clock{Freq: 1000000000}
	c.Name, _ = obj["id"].(string)
	if c.Name == "" {
		c.Name, _ = obj["name"].(string)
	}
	if c.Name == "" {
		return nil, p.errf("id", "clock class without an id")
	}
	c.Description, _ = obj["description"].(string)
	var err error
	if c.Freq, err = p.uint(obj, "frequency", "frequency"); err != nil {
		return nil, err
	}
	if c.Freq == 0 {
		return nil, p.errf("frequency", "frequency must not be 0")
	}
	if off, ok := obj["offset-from-origin"].(map[string]any); ok {
		if v, ok := off["seconds"]; ok {
			if c.OffsetS, err = p.int(v, "offset-from-origin.seconds"); err != nil {
				return nil, err
			}
		}
		if v, ok := off["cycles"]; ok {
			cy, err := p.int(v, "offset-from-origin.cycles")
			if err != nil {
				return nil, err
			}
			if cy < 0 {
				return nil, p.errf("offset-from-origin.cycles", "negative cycles")
			}
			c.Offset = cy
		}
	}
	if c.Precision, err = p.optUint(obj, "precision", 0); err != nil {
		return nil, err
	}
	if u, ok := obj["uuid"]; ok {
		if c.UUID, err = p.uuid(u, "uuid"); err != nil {
			return nil, err
		}
		c.HasUUID = true
	}
	switch o := obj["origin"].(type) {
	case string:
		c.UnixEpoch = o == "unix-epoch"
		c.Absolute = c.UnixEpoch
	case map[string]any:
		// A custom origin: not the Unix epoch.
	}
	return c, nil
}

func (p *parser) streamClass(obj map[string]any) (*meta.Stream, error) {
	s := &meta.Stream{}
	var err error
	if s.ID, err = p.optUint(obj, "id", 0); err != nil {
		return nil, err
	}
	name, _ := obj["default-clock-class-id"].(string)
	if name == "" {
		name, _ = obj["default-clock-class-name"].(string)
	}
	p.clock = name
	if name != "" {
		if s.Clock = p.tr.Clock(name); s.Clock == nil {
			return nil, p.errf("default-clock-class-id", "clock class %q is not defined", name)
		}
	}
	for _, sc := range []struct {
		key   string
		scope meta.Scope
		dst   **meta.Class
	}{
		{"packet-context-field-class", meta.ScopePacketContext, &s.PacketContext},
		{"event-record-header-field-class", meta.ScopeEventHeader, &s.EventHeader},
		{"event-record-common-context-field-class", meta.ScopeEventCommonContext, &s.EventContext},
	} {
		if fc, ok := obj[sc.key]; ok {
			p.scope = sc.scope
			if *sc.dst, err = p.structClass(fc, sc.key); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// structClass reads a scope's root class, which must be a structure.
func (p *parser) structClass(v any, path string) (*meta.Class, error) {
	c, err := p.class(v, path)
	if err != nil {
		return nil, err
	}
	if c.Kind != meta.KindStruct {
		return nil, p.errf(path, "scope field class is a %s, want a structure", c.Kind)
	}
	return c, nil
}

var roleBits = map[string]meta.Role{
	"packet-magic-number":                     meta.RolePacketMagic,
	"metadata-stream-uuid":                    meta.RoleTraceUUID,
	"data-stream-class-id":                    meta.RoleStreamClassID,
	"data-stream-id":                          meta.RoleStreamInstanceID,
	"packet-total-length":                     meta.RolePacketSize,
	"packet-content-length":                   meta.RoleContentSize,
	"packet-end-default-clock-timestamp":      meta.RoleTimestampEnd,
	"discarded-event-record-counter-snapshot": meta.RoleEventsDiscarded,
	"packet-sequence-number":                  meta.RolePacketSeqNum,
	"event-record-class-id":                   meta.RoleEventClassID,
}

func (p *parser) roles(obj map[string]any, c *meta.Class, path string) error {
	rs, ok := obj["roles"]
	if !ok {
		return nil
	}
	list, ok := rs.([]any)
	if !ok {
		return p.errf(path+".roles", "roles must be an array")
	}
	for _, r := range list {
		s, _ := r.(string)
		switch {
		case s == "default-clock-timestamp":
			// In a packet context it is the packet's beginning time.
			if p.scope == meta.ScopePacketContext {
				c.Role |= meta.RoleTimestampBegin
			} else {
				c.Role |= meta.RoleTimestamp
			}
			c.MapClock = p.clock
		case roleBits[s] != 0:
			c.Role |= roleBits[s]
			if s == "packet-end-default-clock-timestamp" {
				c.MapClock = p.clock
			}
		}
	}
	return nil
}

var origins = map[string]meta.Scope{
	"packet-header":                 meta.ScopePacketHeader,
	"packet-context":                meta.ScopePacketContext,
	"event-record-header":           meta.ScopeEventHeader,
	"event-record-common-context":   meta.ScopeEventCommonContext,
	"event-record-specific-context": meta.ScopeEventSpecificContext,
	"event-record-payload":          meta.ScopeEventPayload,
}

// location reads a field location: {origin, path} (final) or a bare array
// whose first element may be an origin (draft). A null element steps up
// to the parent structure and is kept as "".
func (p *parser) location(v any, path string) (meta.FieldRef, error) {
	var r meta.FieldRef
	var elems []any
	switch v := v.(type) {
	case map[string]any:
		if o, ok := v["origin"]; ok {
			s, _ := o.(string)
			sc, ok := origins[s]
			if !ok {
				return r, p.errf(path+".origin", "unknown origin %q", s)
			}
			r.Scope = sc
		}
		elems, _ = v["path"].([]any)
	case []any:
		elems = v
		if len(elems) > 0 {
			if s, ok := elems[0].(string); ok {
				if sc, ok := origins[s]; ok {
					r.Scope = sc
					elems = elems[1:]
				}
			}
		}
	default:
		return r, p.errf(path, "field location must be an object or an array")
	}
	if len(elems) == 0 {
		return r, p.errf(path, "empty field location")
	}
	for i, e := range elems {
		switch e := e.(type) {
		case string:
			r.Path = append(r.Path, e)
		case nil:
			r.Path = append(r.Path, "")
		default:
			return r, p.errf(fmt.Sprintf("%s[%d]", path, i), "field location element must be a string or null")
		}
	}
	return r, nil
}

// ranges reads an integer range set: [[lo, hi], ...].
func (p *parser) ranges(v any, signed bool, path string) ([]meta.Range, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, p.errf(path, "integer range set must be an array")
	}
	var out []meta.Range
	for i, x := range list {
		pair, ok := x.([]any)
		if !ok || len(pair) != 2 {
			return nil, p.errf(fmt.Sprintf("%s[%d]", path, i), "integer range must be [lower, upper]")
		}
		var r meta.Range
		for j, b := range pair {
			n, ok := num(b)
			if !ok {
				return nil, p.errf(fmt.Sprintf("%s[%d][%d]", path, i, j), "not a number")
			}
			var u uint64
			if iv, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				u = uint64(iv)
			} else if uv, err := strconv.ParseUint(string(n), 10, 64); err == nil && !signed {
				u = uv
			} else {
				return nil, p.errf(fmt.Sprintf("%s[%d][%d]", path, i, j), "%s is out of range", n)
			}
			if j == 0 {
				r.Lo = u
			} else {
				r.Hi = u
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *parser) mappings(v any, signed bool, path string) ([]meta.Mapping, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.errf(path, "mappings must be an object")
	}
	var out []meta.Mapping
	for _, k := range sortedKeys(m) {
		rs, err := p.ranges(m[k], signed, path+"."+k)
		if err != nil {
			return nil, err
		}
		out = append(out, meta.Mapping{Label: k, Ranges: rs})
	}
	// Keep labels in value order, as a TSDL enumeration lists them.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1], signed); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

func less(a, b meta.Mapping, signed bool) bool {
	if len(a.Ranges) == 0 || len(b.Ranges) == 0 {
		return len(a.Ranges) < len(b.Ranges)
	}
	if signed {
		return int64(a.Ranges[0].Lo) < int64(b.Ranges[0].Lo)
	}
	return a.Ranges[0].Lo < b.Ranges[0].Lo
}

func (p *parser) byteOrder(obj map[string]any, path string) (meta.ByteOrder, error) {
	switch obj["byte-order"] {
	case "little-endian", "le":
		return meta.LittleEndian, nil
	case "big-endian", "be":
		return meta.BigEndian, nil
	}
	return 0, p.errf(path+".byte-order", "byte-order must be \"little-endian\" or \"big-endian\"")
}

func (p *parser) alignment(obj map[string]any, key string, def int, path string) (int, error) {
	if _, ok := obj[key]; !ok {
		return def, nil
	}
	a, err := p.uint(obj, key, path+"."+key)
	if err != nil {
		return 0, err
	}
	if a == 0 || a&(a-1) != 0 || a > 1<<32 {
		return 0, p.errf(path+"."+key, "%d is not a power of two", a)
	}
	return int(a), nil
}

// class converts a field class (an object, or a string naming an alias).
func (p *parser) class(v any, path string) (*meta.Class, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf(path, "field classes nested deeper than %d levels", maxDepth)
	}
	if name, ok := v.(string); ok {
		c := p.aliases[name]
		if c == nil {
			return nil, p.errf(path, "field class alias %q is not defined", name)
		}
		return c, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, p.errf(path, "field class must be an object or an alias name")
	}
	typ, _ := obj["type"].(string)
	c := &meta.Class{Align: 1, Base: 10}
	var err error
	switch typ {
	case "fixed-length-bit-array", "fixed-length-bit-map", "fixed-length-boolean",
		"fixed-length-unsigned-integer", "fixed-length-signed-integer",
		"fixed-length-unsigned-enumeration", "fixed-length-signed-enumeration":
		c.Kind = meta.KindInt
		c.Signed = strings.Contains(typ, "signed") && !strings.Contains(typ, "unsigned")
		n, err := p.uint(obj, "length", path+".length")
		if err != nil {
			return nil, err
		}
		if n == 0 || n > 1<<16 {
			return nil, p.errf(path+".length", "length %d is out of range", n)
		}
		c.Size = int(n)
		if c.Order, err = p.byteOrder(obj, path); err != nil {
			return nil, err
		}
		if c.Align, err = p.alignment(obj, "alignment", 1, path); err != nil {
			return nil, err
		}
		if err := p.intCommon(obj, c, path); err != nil {
			return nil, err
		}
	case "variable-length-unsigned-integer", "variable-length-signed-integer",
		"variable-length-unsigned-enumeration", "variable-length-signed-enumeration":
		c.Kind = meta.KindVarInt
		c.Signed = strings.Contains(typ, "-signed-")
		c.Align = 8
		if err := p.intCommon(obj, c, path); err != nil {
			return nil, err
		}
		if c.Kind == meta.KindEnum {
			// Keep the LEB128 encoding; Mappings say it is an enumeration.
			c.Kind = meta.KindVarInt
		}
	case "fixed-length-floating-point-number":
		c.Kind = meta.KindFloat
		n, err := p.uint(obj, "length", path+".length")
		if err != nil {
			return nil, err
		}
		switch n {
		case 16:
			c.ExpDig, c.MantDig = 5, 11
		case 32:
			c.ExpDig, c.MantDig = 8, 24
		case 64:
			c.ExpDig, c.MantDig = 11, 53
		case 128:
			c.ExpDig, c.MantDig = 15, 113
		default:
			return nil, p.errf(path+".length", "floating point length %d is not 16, 32, 64 or 128", n)
		}
		c.Size = int(n)
		if c.Order, err = p.byteOrder(obj, path); err != nil {
			return nil, err
		}
		if c.Align, err = p.alignment(obj, "alignment", 1, path); err != nil {
			return nil, err
		}
	case "null-terminated-string":
		c.Kind, c.Align, c.Encoding = meta.KindString, 8, meta.EncodingUTF8
	case "static-length-string", "static-length-blob":
		c.Kind, c.Align, c.Encoding = meta.KindStaticText, 8, meta.EncodingUTF8
		if typ == "static-length-blob" {
			c.Kind, c.Encoding = meta.KindStaticBlob, meta.EncodingNone
			c.MediaType, _ = obj["media-type"].(string)
		}
		if c.Length, err = p.uint(obj, "length", path+".length"); err != nil {
			return nil, err
		}
	case "dynamic-length-string", "dynamic-length-blob":
		c.Kind, c.Align, c.Encoding = meta.KindDynamicText, 8, meta.EncodingUTF8
		if typ == "dynamic-length-blob" {
			c.Kind, c.Encoding = meta.KindDynamicBlob, meta.EncodingNone
			c.MediaType, _ = obj["media-type"].(string)
		}
		if c.LengthRef, err = p.location(obj["length-field-location"], path+".length-field-location"); err != nil {
			return nil, err
		}
	case "structure":
		c.Kind = meta.KindStruct
		if c.Align, err = p.alignment(obj, "minimum-alignment", 1, path); err != nil {
			return nil, err
		}
		members, _ := obj["member-classes"].([]any)
		c.Fields = []meta.Field{}
		for i, m := range members {
			mp := fmt.Sprintf("%s.member-classes[%d]", path, i)
			mo, ok := m.(map[string]any)
			if !ok {
				return nil, p.errf(mp, "member class must be an object")
			}
			name, _ := mo["name"].(string)
			if c.FieldIndex(name) >= 0 {
				return nil, p.errf(mp+".name", "member %q defined twice", name)
			}
			fc, err := p.class(mo["field-class"], mp+".field-class")
			if err != nil {
				return nil, err
			}
			c.Fields = append(c.Fields, meta.Field{Name: name, Class: fc})
			if fc.Kind != meta.KindVariant && fc.Kind != meta.KindOptional && fc.Align > c.Align {
				c.Align = fc.Align
			}
		}
	case "static-length-array", "dynamic-length-array":
		c.Kind = meta.KindArray
		if typ == "static-length-array" {
			if c.Length, err = p.uint(obj, "length", path+".length"); err != nil {
				return nil, err
			}
		} else {
			c.Kind = meta.KindSequence
			if c.LengthRef, err = p.location(obj["length-field-location"], path+".length-field-location"); err != nil {
				return nil, err
			}
		}
		if c.Elem, err = p.class(obj["element-field-class"], path+".element-field-class"); err != nil {
			return nil, err
		}
		min, err := p.alignment(obj, "minimum-alignment", 1, path)
		if err != nil {
			return nil, err
		}
		c.Align = max(min, c.Elem.Align)
		c.Encoding = c.Elem.Encoding
	case "optional":
		c.Kind = meta.KindOptional
		if c.Selector, err = p.location(obj["selector-field-location"], path+".selector-field-location"); err != nil {
			return nil, err
		}
		if c.Elem, err = p.class(obj["field-class"], path+".field-class"); err != nil {
			return nil, err
		}
		if r, ok := obj["selector-field-ranges"]; ok {
			rs, err := p.ranges(r, true, path+".selector-field-ranges")
			if err != nil {
				return nil, err
			}
			c.SelectorRanges = [][]meta.Range{rs}
		}
	case "variant":
		c.Kind = meta.KindVariant
		if c.Selector, err = p.location(obj["selector-field-location"], path+".selector-field-location"); err != nil {
			return nil, err
		}
		opts, _ := obj["options"].([]any)
		if len(opts) == 0 {
			return nil, p.errf(path+".options", "variant without options")
		}
		for i, o := range opts {
			op := fmt.Sprintf("%s.options[%d]", path, i)
			oo, ok := o.(map[string]any)
			if !ok {
				return nil, p.errf(op, "option must be an object")
			}
			name, _ := oo["name"].(string)
			fc, err := p.class(oo["field-class"], op+".field-class")
			if err != nil {
				return nil, err
			}
			rs, err := p.ranges(oo["selector-field-ranges"], true, op+".selector-field-ranges")
			if err != nil {
				return nil, err
			}
			c.Fields = append(c.Fields, meta.Field{Name: name, Class: fc})
			c.SelectorRanges = append(c.SelectorRanges, rs)
		}
	case "":
		return nil, p.errf(path, "field class without a type")
	default:
		return nil, p.errf(path+".type", "unknown field class type %q", typ)
	}
	if err := p.roles(obj, c, path); err != nil {
		return nil, err
	}
	return c, nil
}

// intCommon reads what fixed- and variable-length integers share: display
// base, mappings (an enumeration) and roles.
func (p *parser) intCommon(obj map[string]any, c *meta.Class, path string) error {
	if _, ok := obj["preferred-display-base"]; ok {
		b, err := p.uint(obj, "preferred-display-base", path+".preferred-display-base")
		if err != nil {
			return err
		}
		switch b {
		case 2, 8, 10, 16:
			c.Base = int(b)
		default:
			return p.errf(path+".preferred-display-base", "base %d is not 2, 8, 10 or 16", b)
		}
	}
	if m, ok := obj["mappings"]; ok {
		ms, err := p.mappings(m, c.Signed, path+".mappings")
		if err != nil {
			return err
		}
		if len(ms) > 0 {
			c.Kind = meta.KindEnum
			c.Mappings = ms
		}
	}
	return nil
}
