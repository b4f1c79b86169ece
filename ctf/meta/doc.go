// Package meta is the trace class model of a CTF trace: what the metadata
// says, whatever its syntax. The TSDL parser (package ctf/tsdl, CTF 1.8) and
// the JSON parser (package ctf/ctf2, CTF 2) both produce a *Trace; the
// decoder in package ctf compiles it into flat decode plans.
//
// The model is plain data: classes are trees of *Class values, field
// references (sequence lengths, variant selectors) are kept as written,
// as a FieldRef, and resolved to decoded slots by the compiler, which knows
// the scope rules.
//
//	tr, err := tsdl.Parse(text)
//	if err != nil { ... }
//	for _, sc := range tr.Streams {
//		for _, ec := range sc.Events {
//			fmt.Println(sc.ID, ec.ID, ec.Name)
//		}
//	}
package meta
