package state

import (
	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

// handler applies one event of a known class.
type handler func(m *Machine, ev *ctf.Event, ci *classInfo, cpu *CPUState)

// classInfo is what the model needs to know about one event class,
// resolved once.
type classInfo struct {
	handler handler
	// f holds payload field indexes, by the names of the handler's table.
	f [12]int
	// syscall name for syscall entry/exit events
	sysName string
	// perf: per perf context field, its index in the common/specific
	// context and in Machine.perfNames.
	perf []perfField
}

type perfField struct {
	scope meta.Scope
	field int
	name  string
}

// classCache maps event classes to what the model does with them, filled
// as classes appear.
type classCache struct {
	m map[*meta.Event]*classInfo
	// byID holds the classes by event id, checked by pointer (another
	// stream class's event of the same id goes to the map): a slice index
	// on the hot path instead of a map look-up.
	byID []idEntry
}

type idEntry struct {
	ev *meta.Event
	ci *classInfo
}

func newClassCache() *classCache { return &classCache{m: make(map[*meta.Event]*classInfo)} }

func (c *classCache) get(e *meta.Event, s *ctf.Stream) *classInfo {
	if e.ID < uint64(len(c.byID)) {
		if x := c.byID[e.ID]; x.ev == e {
			return x.ci
		}
	}
	ci := c.m[e]
	if ci == nil {
		ci = resolve(e, s)
		c.m[e] = ci
	}
	if e.ID < 1<<12 {
		for uint64(len(c.byID)) <= e.ID {
			c.byID = append(c.byID, idEntry{})
		}
		if c.byID[e.ID].ev == nil {
			c.byID[e.ID] = idEntry{e, ci}
		}
	}
	return ci
}

func (c *classCache) clone() *classCache {
	n := &classCache{m: make(map[*meta.Event]*classInfo, len(c.m)), byID: append([]idEntry(nil), c.byID...)}
	for k, v := range c.m {
		n.m[k] = v
	}
	return n
}
