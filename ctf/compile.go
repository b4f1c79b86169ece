package ctf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracetop/tracetop/ctf/meta"
)

// opKind is what a compiled decode op does.
type opKind uint8

const (
	opInt      opKind = iota + 1 // fixed-length integer, enum, boolean, bit array
	opBigInt                     // integer wider than 64 bits: skipped, low 64 bits kept
	opFloat                      // binary32, binary64 or another IEEE 754 layout
	opString                     // NUL-terminated
	opStruct                     // members in order
	opVariant                    // one option chosen by a selector
	opArray                      // fixed number of elements
	opSequence                   // number of elements read earlier
	opText                       // fixed number of encoded bytes (text array, static string)
	opDynText                    // number of encoded bytes read earlier
	opBlob                       // fixed number of bytes
	opDynBlob                    // number of bytes read earlier
	opVarInt                     // LEB128
	opOptional                   // present when a selector says so
)

// op is one node of a compiled decode plan. Everything the decoder needs
// (alignment, size, byte order, signedness, resolved field references,
// variant selection tables) is decided at compile time; the decoder only
// switches on kind.
type op struct {
	kind   opKind
	order  meta.ByteOrder
	signed bool
	role   meta.Role
	align  uint64 // bits, >= 1
	size   uint32 // bits (ints, floats)
	class  *meta.Class
	fields []*op // struct members, variant options
	elem   *op   // array, sequence, optional
	length uint64
	ref    *fieldRef // sequence length, variant and optional selector
	sel    []selRange
	// segs splits a structure's members into fused runs and single
	// members; nil when nothing is fused.
	segs []segment
	// whole is the run of a structure all of whose members are fused
	// into one run (and aligned by the run: the structure adds no
	// alignment of its own).
	whole *fixedRun
	// minBits is a lower bound of the bits one instance occupies; it
	// bounds sequence lengths read from the data.
	minBits uint64
	// expDig, mantDig describe a float that is neither binary32 nor binary64.
	expDig, mantDig int
}

// fieldRef is a resolved field reference: a value already decoded in the
// current event, found from the root of an absolute scope (depth < 0) or
// from an enclosing struct on the decoder's struct stack (depth >= 0),
// then down through struct members (path >= 0: member index) and variant
// options (path < 0: option -path-1, which must be the selected one).
type fieldRef struct {
	scope meta.Scope
	depth int32
	path  []int32
	class *meta.Class
}

// selRange maps selector values lo..hi (inclusive, signed comparison when
// the selector is signed) to an option.
type selRange struct {
	lo, hi uint64
	opt    int32
}

type cframe struct {
	cls *meta.Class
	cur int
}

// compiler turns the classes of one trace into decode plans.
type compiler struct {
	tr     *meta.Trace
	ctf2   bool
	scopes [7]*meta.Class
	scope  meta.Scope
	stack  []cframe
}

// compileScope compiles the root class of scope s. The classes of the
// earlier scopes must be in c.scopes.
func (c *compiler) compileScope(s meta.Scope, cls *meta.Class) (*op, error) {
	if cls == nil {
		return nil, nil
	}
	c.scope = s
	c.scopes[s] = cls
	c.stack = c.stack[:0]
	o, err := c.compile(cls)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return o, nil
}

func classAlign(cls *meta.Class) uint64 {
	if cls.Align <= 1 {
		return 1
	}
	return uint64(cls.Align)
}

func isPow2(a uint64) bool { return a != 0 && a&(a-1) == 0 }

func (c *compiler) compile(cls *meta.Class) (*op, error) {
	o := &op{class: cls, align: classAlign(cls), order: cls.Order, signed: cls.Signed, role: cls.Role}
	if !isPow2(o.align) {
		return nil, fmt.Errorf("alignment %d is not a power of two", cls.Align)
	}
	switch cls.Kind {
	case meta.KindInt, meta.KindEnum:
		if cls.Size <= 0 {
			return nil, fmt.Errorf("integer size %d", cls.Size)
		}
		o.kind = opInt
		if cls.Size > 64 {
			o.kind = opBigInt
		}
		o.size = uint32(cls.Size)
		o.minBits = uint64(cls.Size)
	case meta.KindFloat:
		o.kind = opFloat
		o.size = uint32(cls.ExpDig + cls.MantDig)
		if cls.Size > 0 && cls.ExpDig == 0 {
			o.size = uint32(cls.Size)
		}
		o.expDig, o.mantDig = cls.ExpDig, cls.MantDig
		if o.expDig == 0 && o.mantDig == 0 {
			switch o.size {
			case 32:
				o.expDig, o.mantDig = 8, 24
			case 64:
				o.expDig, o.mantDig = 11, 53
			}
		}
		if o.size == 0 || o.size > 64 || o.expDig < 2 || o.mantDig < 2 {
			return nil, fmt.Errorf("unsupported floating point (exp_dig %d, mant_dig %d)", cls.ExpDig, cls.MantDig)
		}
		o.minBits = uint64(o.size)
	case meta.KindString:
		o.kind = opString
		if o.align < 8 {
			o.align = 8
		}
		o.minBits = 8
	case meta.KindStruct:
		o.kind = opStruct
		c.stack = append(c.stack, cframe{cls: cls})
		d := len(c.stack) - 1
		for i, f := range cls.Fields {
			c.stack[d].cur = i
			fo, err := c.compile(f.Class)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if fo.align > o.align {
				o.align = fo.align
			}
			o.minBits += fo.minBits
			o.fields = append(o.fields, fo)
		}
		c.stack = c.stack[:d]
		for _, sg := range fuse(o) {
			if sg.run != nil {
				o.segs = fuse(o)
				break
			}
		}
		if len(o.segs) == 1 && o.segs[0].run.align == o.align {
			o.whole = o.segs[0].run
		}
	case meta.KindVariant:
		o.kind = opVariant
		o.align = 1
		ref, err := c.resolve(cls.Selector, isSelector)
		if err != nil {
			return nil, fmt.Errorf("variant selector %s: %w", cls.Selector, err)
		}
		o.ref = ref
		if err := c.variantTable(o, cls, ref.class); err != nil {
			return nil, err
		}
		first := true
		for _, f := range cls.Fields {
			fo, err := c.compile(f.Class)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if first || fo.minBits < o.minBits {
				o.minBits = fo.minBits
			}
			first = false
			o.fields = append(o.fields, fo)
		}
	case meta.KindArray, meta.KindSequence:
		if cls.Elem == nil {
			return nil, errors.New("array without element class")
		}
		if cls.Kind == meta.KindSequence {
			ref, err := c.resolve(cls.LengthRef, isLength)
			if err != nil {
				return nil, fmt.Errorf("sequence length %s: %w", cls.LengthRef, err)
			}
			if err := checkLength(ref.class); err != nil {
				return nil, fmt.Errorf("sequence length %s: %w", cls.LengthRef, err)
			}
			o.ref = ref
		}
		e, err := c.compile(cls.Elem)
		if err != nil {
			return nil, err
		}
		o.elem = e
		if e.align > o.align {
			o.align = e.align
		}
		o.length = cls.Length
		if cls.IsText() {
			o.kind = opText
			if cls.Kind == meta.KindSequence {
				o.kind = opDynText
			}
		} else {
			o.kind = opArray
			if cls.Kind == meta.KindSequence {
				o.kind = opSequence
			}
		}
		if cls.Kind == meta.KindArray {
			o.minBits = e.minBits * cls.Length
			if e.minBits != 0 && o.minBits/e.minBits != cls.Length {
				return nil, fmt.Errorf("array length %d too large", cls.Length)
			}
		}
	case meta.KindStaticText, meta.KindStaticBlob:
		o.kind = opText
		if cls.Kind == meta.KindStaticBlob {
			o.kind = opBlob
		}
		if o.align < 8 {
			o.align = 8
		}
		o.length = cls.Length
		o.minBits = cls.Length * 8
		if o.minBits/8 != cls.Length {
			return nil, fmt.Errorf("length %d too large", cls.Length)
		}
	case meta.KindDynamicText, meta.KindDynamicBlob:
		o.kind = opDynText
		if cls.Kind == meta.KindDynamicBlob {
			o.kind = opDynBlob
		}
		if o.align < 8 {
			o.align = 8
		}
		ref, err := c.resolve(cls.LengthRef, isLength)
		if err != nil {
			return nil, fmt.Errorf("length %s: %w", cls.LengthRef, err)
		}
		if err := checkLength(ref.class); err != nil {
			return nil, fmt.Errorf("length %s: %w", cls.LengthRef, err)
		}
		o.ref = ref
	case meta.KindVarInt:
		o.kind = opVarInt
		if o.align < 8 {
			o.align = 8
		}
		o.minBits = 8
	case meta.KindOptional:
		o.kind = opOptional
		o.align = 1
		if cls.Elem == nil {
			return nil, errors.New("optional without element class")
		}
		ref, err := c.resolve(cls.Selector, isInt)
		if err != nil {
			return nil, fmt.Errorf("optional selector %s: %w", cls.Selector, err)
		}
		o.ref = ref
		sc := ref.class
		if sc.Kind != meta.KindInt && sc.Kind != meta.KindEnum {
			return nil, fmt.Errorf("optional selector %s is a %s, not an integer or boolean", cls.Selector, sc.Kind)
		}
		o.signed = sc.Signed
		for _, r := range cls.SelectorRanges {
			for _, rg := range r {
				o.sel = append(o.sel, selRange{lo: rg.Lo, hi: rg.Hi})
			}
		}
		e, err := c.compile(cls.Elem)
		if err != nil {
			return nil, err
		}
		o.elem = e
	default:
		return nil, fmt.Errorf("unsupported field class %s", cls.Kind)
	}
	return o, nil
}

func isLength(c *meta.Class) bool   { return checkLength(c) == nil }
func isSelector(c *meta.Class) bool { return c.Kind == meta.KindEnum || c.Kind == meta.KindInt }

func checkLength(lc *meta.Class) error {
	if (lc.Kind != meta.KindInt && lc.Kind != meta.KindEnum && lc.Kind != meta.KindVarInt) || lc.Signed {
		return fmt.Errorf("is a %s, not an unsigned integer", describe(lc))
	}
	return nil
}

func describe(c *meta.Class) string {
	if c.Kind == meta.KindInt || c.Kind == meta.KindEnum {
		if c.Signed {
			return "signed " + c.Kind.String()
		}
		return "unsigned " + c.Kind.String()
	}
	return c.Kind.String()
}

// variantTable builds the selector-value to option table of a variant:
// from the selector ranges of a CTF 2 variant, or by matching the labels
// of the selector enumeration with the option names (CTF 1.8).
func (c *compiler) variantTable(o *op, cls *meta.Class, sc *meta.Class) error {
	if sc.Kind != meta.KindEnum && !(cls.SelectorRanges != nil && sc.Kind == meta.KindInt) {
		return fmt.Errorf("variant selector %s is a %s, not an enumeration", cls.Selector, describe(sc))
	}
	o.signed = sc.Signed
	if cls.SelectorRanges != nil {
		for i, rs := range cls.SelectorRanges {
			for _, r := range rs {
				o.sel = append(o.sel, selRange{lo: r.Lo, hi: r.Hi, opt: int32(i)})
			}
		}
		return nil
	}
	for _, m := range sc.Mappings {
		opt := matchOption(cls, m.Label)
		if opt < 0 {
			continue
		}
		for _, r := range m.Ranges {
			o.sel = append(o.sel, selRange{lo: r.Lo, hi: r.Hi, opt: int32(opt)})
		}
	}
	return nil
}

// matchOption finds the option of a CTF 1.8 variant selected by an
// enumeration label: the option named exactly like the label, else the
// one whose name is the label with one leading underscore added or
// removed (LTTng prefixes names with "_").
func matchOption(cls *meta.Class, label string) int {
	if i := cls.FieldIndex(label); i >= 0 {
		return i
	}
	if i := cls.FieldIndex("_" + label); i >= 0 {
		return i
	}
	if strings.HasPrefix(label, "_") {
		return cls.FieldIndex(label[1:])
	}
	return -1
}

// resolve turns a field reference into a decoded slot.
func (c *compiler) resolve(r meta.FieldRef, want func(*meta.Class) bool) (*fieldRef, error) {
	if len(r.Path) == 0 {
		return nil, errors.New("empty field path")
	}
	if r.Scope != meta.ScopeNone {
		if r.Scope > c.scope {
			return nil, fmt.Errorf("scope %s is decoded after %s", r.Scope, c.scope)
		}
		root := c.scopes[r.Scope]
		if root == nil {
			return nil, fmt.Errorf("no %s scope", r.Scope)
		}
		if r.Scope == c.scope && len(c.stack) > 0 {
			// Within the scope being compiled: only earlier members.
			return c.down(&fieldRef{scope: r.Scope, depth: 0}, c.stack[0].cls, r.Path, c.stack[0].cur)
		}
		return c.down(&fieldRef{scope: r.Scope, depth: -1}, root, r.Path, -1)
	}
	if c.ctf2 {
		d := len(c.stack) - 1
		p := r.Path
		for len(p) > 0 && p[0] == "" {
			d--
			p = p[1:]
		}
		if d < 0 || len(p) == 0 {
			return nil, errors.New("relative location leaves the scope")
		}
		return c.down(&fieldRef{depth: int32(d)}, c.stack[d].cls, p, c.stack[d].cur)
	}
	// CTF 1.8: innermost struct outwards, then the earlier scopes. A
	// field of the wrong kind (a string called like the length) is passed
	// over for one further out, as babeltrace 1 does
	// (ctf-testsuite sequence-typedef-length); the first one found gives
	// the error when none fits.
	var first *fieldRef
	var firstErr error
	try := func(ref *fieldRef, err error) bool {
		if err == nil && (want == nil || want(ref.class)) {
			return true
		}
		if first == nil && firstErr == nil {
			first, firstErr = ref, err
		}
		return false
	}
	for d := len(c.stack) - 1; d >= 0; d-- {
		f := c.stack[d]
		for i := 0; i < f.cur && i < len(f.cls.Fields); i++ {
			if f.cls.Fields[i].Name == r.Path[0] {
				ref, err := c.down(&fieldRef{depth: int32(d)}, f.cls, r.Path, f.cur)
				if try(ref, err) {
					return ref, nil
				}
				break
			}
		}
	}
	for s := c.scope - 1; s >= meta.ScopePacketHeader; s-- {
		root := c.scopes[s]
		if root == nil || root.Kind != meta.KindStruct {
			continue
		}
		if root.FieldIndex(r.Path[0]) >= 0 {
			ref, err := c.down(&fieldRef{scope: s, depth: -1}, root, r.Path, -1)
			if try(ref, err) {
				return ref, nil
			}
		}
	}
	if first != nil || firstErr != nil {
		return first, firstErr
	}
	return nil, errors.New("no such field")
}

// down resolves names through struct members and variant options (an
// option is named by its name, as babeltrace2 does: `v.A.len`; the
// reference then holds only when that option is the selected one, which
// the decoder checks). limit, when >= 0, bounds the first member index
// (only members decoded before the referring one).
func (c *compiler) down(ref *fieldRef, cls *meta.Class, path []string, limit int) (*fieldRef, error) {
	for k, name := range path {
		if cls.Kind == meta.KindVariant && k > 0 {
			i := cls.FieldIndex(name)
			if i < 0 {
				return nil, fmt.Errorf("variant has no option %q", name)
			}
			ref.path = append(ref.path, -int32(i)-1)
			cls = cls.Fields[i].Class
			continue
		}
		if cls.Kind != meta.KindStruct {
			return nil, fmt.Errorf("%q is inside a %s, not a struct or variant", name, cls.Kind)
		}
		i := cls.FieldIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("no field %q", name)
		}
		if k == 0 && limit >= 0 && i >= limit {
			return nil, fmt.Errorf("field %q is not decoded yet", name)
		}
		ref.path = append(ref.path, int32(i))
		cls = cls.Fields[i].Class
	}
	ref.class = cls
	return ref, nil
}
