package pretty

import (
	"github.com/tracetop/tracetop/ctf/meta"
)

// node is a field class compiled for printing: the name as babeltrace2
// shows it, whether the field is shown at all, and the children.
type node struct {
	cls    *meta.Class
	kind   meta.Kind
	hidden bool
	// depended says a shown sequence or variant reads this field (its
	// length or selector), which keeps it shown even with a role.
	depended bool
	raw      string // name as in the metadata (for field references)
	name     string // displayed name
	sepName  string // ", NAME = ": the separator and name before a member
	parent   *node
	kids     []*node // struct members, variant options
	elem     *node   // array, sequence, optional element
	text     bool    // array or sequence shown as a string
	signed   bool
	base     int
	size     int
	// stale holds the last non-empty value of a NUL-terminated string
	// field outside arrays. What babeltrace2 2.0 does (its sources):
	// clearing a string field only sets its length to 0, and reading it
	// returns its buffer, which still holds the previous NUL-terminated
	// value when the new one is empty (nothing is appended); event
	// objects, with their field objects, come from a per-event-class
	// object pool that hands out the most recently released object
	// first, and an event is released when the sink has printed it. So an
	// empty string prints as the last non-empty value decoded into the
	// recycled object: the previous event of the class when that event
	// was printed before the new one was decoded (tracevizlab/wget-k,
	// tracecompass/many-threads). Whether it was depends on how far the
	// decoding runs ahead of printing: each stream's iterator decodes
	// batches of up to 15 messages, counting its stream and packet
	// beginning/end messages, and the muxer hands the sink batches of 15.
	// An exact model needs more than where those non-event messages fall
	// in the muxer's order: a stream's batch takes its objects from the
	// pools when it is pulled, before the muxer outputs any of it, so the
	// classes of each stream's next 15 messages must be known at that
	// moment, a decode that runs 15 messages ahead per stream, which a
	// ctf.Source does not do. Printer.event approximates the lead as
	// 15×(streams+1) messages; on the shared traces it marks exactly the
	// two events babeltrace2 prints stale (wget-k line 16939,
	// many-threads line 240224) and no other empty string.
	stale   []byte
	inArray bool
}

// scopeOrder is the order in which scopes are printed.
var scopeOrder = [4]meta.Scope{meta.ScopePacketContext, meta.ScopeEventCommonContext,
	meta.ScopeEventSpecificContext, meta.ScopeEventPayload}

// compile builds the print nodes of the four printed scopes of one event
// class and decides which fields babeltrace2 keeps. babeltrace2 hides an
// integer that has a role for the reader (packet sizes, packet times,
// discarded-event counter, sequence number ...) or that is mapped to a
// clock, unless a shown sequence or variant uses it; a structure whose
// members are all hidden is hidden (an originally empty one is shown); an
// array is hidden when its element is; a shown variant shows all its
// options.
func compile(roots [4]*meta.Class, strip bool) [4]*node {
	var out [4]*node
	for i, c := range roots {
		if c != nil {
			out[i] = build(c, "", nil, strip)
		}
	}
	// babeltrace2 walks the scopes and members backwards so that a length
	// or selector (always before its user) is marked before it is judged.
	for i := 3; i >= 0; i-- {
		if out[i] != nil {
			visit(out[i], out, i)
		}
	}
	return out
}

func build(c *meta.Class, raw string, parent *node, strip bool) *node {
	n := &node{cls: c, kind: c.Kind, raw: raw, name: raw, parent: parent,
		signed: c.Signed, base: c.Base, size: c.Size}
	if strip && len(raw) > 0 && raw[0] == '_' {
		n.name = raw[1:]
	}
	if n.base == 0 {
		n.base = 10
	}
	n.sepName = ", " + n.name + " = "
	if parent != nil && (parent.inArray || parent.kind == meta.KindArray || parent.kind == meta.KindSequence) {
		n.inArray = true
	}
	switch c.Kind {
	case meta.KindStruct, meta.KindVariant:
		n.kids = make([]*node, len(c.Fields))
		for i, f := range c.Fields {
			n.kids[i] = build(f.Class, f.Name, n, strip)
		}
	case meta.KindArray, meta.KindSequence, meta.KindOptional:
		if c.IsText() {
			n.text = true
		} else if c.Elem != nil {
			n.elem = build(c.Elem, "", n, strip)
		}
	}
	return n
}

// visit decides n.hidden; roots are the scope roots, cur the index of the
// scope being visited.
func visit(n *node, roots [4]*node, cur int) {
	c := n.cls
	switch n.kind {
	case meta.KindInt, meta.KindEnum, meta.KindVarInt:
		n.hidden = (c.Role != 0 || c.MapClock != "") && !n.depended
	case meta.KindStruct:
		shown := len(n.kids) == 0
		for i := len(n.kids) - 1; i >= 0; i-- {
			visit(n.kids[i], roots, cur)
			if !n.kids[i].hidden {
				shown = true
			}
		}
		n.hidden = !shown
	case meta.KindVariant:
		shown := false
		for i := len(n.kids) - 1; i >= 0; i-- {
			visit(n.kids[i], roots, cur)
			if !n.kids[i].hidden {
				shown = true
			}
		}
		n.hidden = !shown
		if shown {
			for _, k := range n.kids {
				k.hidden = false
			}
			if t := resolve(n, c.Selector, roots, cur); t != nil {
				t.depended = true
			}
		}
	case meta.KindArray, meta.KindSequence, meta.KindOptional:
		if n.elem != nil {
			visit(n.elem, roots, cur)
			n.hidden = n.elem.hidden
		}
		if !n.hidden {
			switch n.kind {
			case meta.KindSequence:
				if t := resolve(n, c.LengthRef, roots, cur); t != nil {
					t.depended = true
				}
			case meta.KindOptional:
				if t := resolve(n, c.Selector, roots, cur); t != nil {
					t.depended = true
				}
			}
		}
	case meta.KindDynamicText, meta.KindDynamicBlob:
		if t := resolve(n, c.LengthRef, roots, cur); t != nil {
			t.depended = true
		}
	}
}

// resolve finds the field a reference names among the printed scopes (a
// field of an unprinted scope is never shown anyway).
func resolve(from *node, ref meta.FieldRef, roots [4]*node, cur int) *node {
	if len(ref.Path) == 0 {
		return nil
	}
	if ref.Scope != meta.ScopeNone {
		for i, s := range scopeOrder {
			if s == ref.Scope && roots[i] != nil {
				return follow(roots[i], ref.Path)
			}
		}
		return nil
	}
	// Relative: the enclosing structures outwards, then earlier scopes.
	for p := from.parent; p != nil; p = p.parent {
		if p.kind == meta.KindStruct {
			if t := follow(p, ref.Path); t != nil {
				return t
			}
		}
	}
	for i := cur - 1; i >= 0; i-- {
		if roots[i] != nil {
			if t := follow(roots[i], ref.Path); t != nil {
				return t
			}
		}
	}
	return nil
}

func follow(n *node, path []string) *node {
	for _, name := range path {
		if n.kind != meta.KindStruct && n.kind != meta.KindVariant {
			return nil
		}
		var next *node
		for _, k := range n.kids {
			if k.raw == name {
				next = k
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
