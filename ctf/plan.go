package ctf

import (
	"fmt"

	"github.com/tracetop/tracetop/ctf/meta"
)

// tracePlan is a trace class compiled for decoding.
type tracePlan struct {
	meta         *meta.Trace
	packetHeader *op
	streams      []*streamPlan
	byID         map[uint64]*streamPlan
}

// streamPlan is a stream class compiled for decoding.
type streamPlan struct {
	class         *meta.Stream
	packetContext *op
	eventHeader   *op
	header        *headerPlan // LTTng compact or large header fast path
	eventContext  *op
	clock         *clockConv
	events        []*eventPlan // indexed by id when dense
	eventMap      map[uint64]*eventPlan
	single        *eventPlan // the only event class, when there is one
}

type eventPlan struct {
	class   *meta.Event
	context *op
	payload *op
}

func (sp *streamPlan) event(id uint64) *eventPlan {
	if id < uint64(len(sp.events)) {
		return sp.events[id]
	}
	if sp.eventMap != nil {
		return sp.eventMap[id]
	}
	return nil
}

// compileTrace derives the CTF 1.8 roles, then compiles every scope of
// every stream and event class.
func compileTrace(tr *meta.Trace) (*tracePlan, error) {
	if tr.Major < 2 {
		deriveRoles(tr)
	}
	tp := &tracePlan{meta: tr, byID: map[uint64]*streamPlan{}}
	c := &compiler{tr: tr, ctf2: tr.Major >= 2}
	var err error
	if tp.packetHeader, err = c.compileScope(meta.ScopePacketHeader, tr.PacketHeader); err != nil {
		return nil, err
	}
	for _, sc := range tr.Streams {
		sp := &streamPlan{class: sc}
		c.scopes = [7]*meta.Class{meta.ScopePacketHeader: tr.PacketHeader}
		if sp.packetContext, err = c.compileScope(meta.ScopePacketContext, sc.PacketContext); err != nil {
			return nil, fmt.Errorf("stream %d: %w", sc.ID, err)
		}
		if sp.eventHeader, err = c.compileScope(meta.ScopeEventHeader, sc.EventHeader); err != nil {
			return nil, fmt.Errorf("stream %d: %w", sc.ID, err)
		}
		sp.header = compileHeader(sp.eventHeader)
		if sp.eventContext, err = c.compileScope(meta.ScopeEventCommonContext, sc.EventContext); err != nil {
			return nil, fmt.Errorf("stream %d: %w", sc.ID, err)
		}
		if sc.Clock == nil {
			sc.Clock = impliedClock(tr, sc)
		}
		if sc.Clock != nil {
			sp.clock = newClockConv(sc.Clock)
		}
		var maxID uint64
		for _, ec := range sc.Events {
			if ec.ID > maxID {
				maxID = ec.ID
			}
		}
		if len(sc.Events) > 0 && maxID < 1<<16 {
			sp.events = make([]*eventPlan, maxID+1)
		} else {
			sp.eventMap = map[uint64]*eventPlan{}
		}
		for _, ec := range sc.Events {
			ep := &eventPlan{class: ec}
			c.scopes[meta.ScopeEventSpecificContext] = nil
			c.scopes[meta.ScopeEventPayload] = nil
			if ep.context, err = c.compileScope(meta.ScopeEventSpecificContext, ec.Context); err != nil {
				return nil, fmt.Errorf("event %q: %w", ec.Name, err)
			}
			if ep.payload, err = c.compileScope(meta.ScopeEventPayload, ec.Payload); err != nil {
				return nil, fmt.Errorf("event %q: %w", ec.Name, err)
			}
			if sp.events != nil {
				sp.events[ec.ID] = ep
			} else {
				sp.eventMap[ec.ID] = ep
			}
		}
		if len(sc.Events) == 1 {
			sp.single = sp.event(sc.Events[0].ID)
		}
		tp.streams = append(tp.streams, sp)
		tp.byID[sc.ID] = sp
	}
	return tp, nil
}

// impliedClock gives a stream whose timestamps map to no clock the clock
// babeltrace2 gives it: the trace's only clock, or a 1 GHz clock named
// "default" when the trace declares none.
func impliedClock(tr *meta.Trace, sc *meta.Stream) *meta.Clock {
	has := hasRole(sc.EventHeader, meta.RoleTimestamp) ||
		hasRole(sc.PacketContext, meta.RoleTimestampBegin|meta.RoleTimestampEnd)
	if !has {
		return nil
	}
	if len(tr.Clocks) == 1 {
		return tr.Clocks[0]
	}
	if c := tr.Clock("default"); c != nil {
		return c
	}
	if len(tr.Clocks) > 1 {
		return nil
	}
	c := &meta.Clock{Name: "default", Freq: 1e9}
	tr.Clocks = append(tr.Clocks, c)
	return c
}

func hasRole(c *meta.Class, r meta.Role) bool {
	if c == nil {
		return false
	}
	if c.Role&r != 0 {
		return true
	}
	for _, f := range c.Fields {
		if hasRole(f.Class, r) {
			return true
		}
	}
	return c.Elem != nil && hasRole(c.Elem, r)
}

// deriveRoles sets the CTF 1.8 roles of the well-known fields. The scope
// classes are cloned first, so that a class shared through a typealias
// keeps no role where it is used elsewhere.
func deriveRoles(tr *meta.Trace) {
	if tr.PacketHeader != nil {
		tr.PacketHeader = cloneClass(tr.PacketHeader)
		setTopRoles(tr.PacketHeader, map[string]meta.Role{
			"magic":              meta.RolePacketMagic,
			"uuid":               meta.RoleTraceUUID,
			"stream_id":          meta.RoleStreamClassID,
			"stream_instance_id": meta.RoleStreamInstanceID,
		})
	}
	for _, sc := range tr.Streams {
		if sc.PacketContext != nil {
			sc.PacketContext = cloneClass(sc.PacketContext)
			setTopRoles(sc.PacketContext, map[string]meta.Role{
				"timestamp_begin":  meta.RoleTimestampBegin,
				"timestamp_end":    meta.RoleTimestampEnd,
				"content_size":     meta.RoleContentSize,
				"packet_size":      meta.RolePacketSize,
				"events_discarded": meta.RoleEventsDiscarded,
				"packet_seq_num":   meta.RolePacketSeqNum,
			})
		}
		if sc.EventHeader != nil {
			sc.EventHeader = cloneClass(sc.EventHeader)
			setHeaderRoles(sc.EventHeader)
		}
	}
}

func isInt(c *meta.Class) bool { return c.Kind == meta.KindInt || c.Kind == meta.KindEnum }

func setTopRoles(c *meta.Class, names map[string]meta.Role) {
	if c.Kind != meta.KindStruct {
		return
	}
	for _, f := range c.Fields {
		r, ok := names[f.Name]
		if !ok || f.Class.Role != meta.RoleNone {
			continue
		}
		if r == meta.RoleTraceUUID {
			if f.Class.Kind == meta.KindArray && f.Class.Length == 16 {
				f.Class.Role = r
			}
			continue
		}
		if isInt(f.Class) && !f.Class.Signed {
			f.Class.Role = r
		}
	}
}

// setHeaderRoles marks every integer called id or timestamp in an event
// header, through structs and variants: the last decoded one wins, which
// covers LTTng's compact and large headers with their escapes.
func setHeaderRoles(c *meta.Class) {
	for _, f := range c.Fields {
		fc := f.Class
		switch {
		case isInt(fc) && f.Name == "id" && fc.Role == 0:
			fc.Role = meta.RoleEventClassID
		case isInt(fc) && f.Name == "timestamp" && fc.Role == 0:
			fc.Role = meta.RoleTimestamp
		case fc.Kind == meta.KindStruct || fc.Kind == meta.KindVariant:
			setHeaderRoles(fc)
		}
	}
}

// cloneClass copies a class tree (structs, variants, arrays and their
// members), sharing nothing that a role could be set on.
func cloneClass(c *meta.Class) *meta.Class {
	if c == nil {
		return nil
	}
	n := *c
	if c.Fields != nil {
		n.Fields = make([]meta.Field, len(c.Fields))
		for i, f := range c.Fields {
			n.Fields[i] = meta.Field{Name: f.Name, Class: cloneClass(f.Class)}
		}
	}
	n.Elem = cloneClass(c.Elem)
	return &n
}
