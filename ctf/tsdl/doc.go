// Package tsdl parses CTF 1.8.3 metadata (the Trace Stream Description
// Language) into the ctf/meta trace class model, plain text or
// packetized.
//
// The parser is a hand-written lexer and recursive-descent parser that
// covers the whole language, not only what LTTng writes: typealias and
// typedef with lexical scopes, named and anonymous structs, variants and
// enumerations, arrays of any dimension, sequences with relative or
// absolute length paths (kept as written; the decoder resolves them),
// env, clock, callsite, and the trace, stream and event blocks. Unknown
// attributes are ignored with a warning in meta.Trace.Warnings, worded as
// babeltrace2 words them. Errors name the metadata line.
//
//	b, err := os.ReadFile(filepath.Join(dir, "metadata"))
//	if err != nil { ... }
//	tr, err := tsdl.ParseMetadata(b) // packetized or plain text
//	if err != nil { ... }            // "tsdl: line 12: expected ";" after field "x", found "}""
//	for _, s := range tr.Streams {
//		for _, ev := range s.Events {
//			fmt.Println(s.ID, ev.ID, ev.Name)
//		}
//	}
package tsdl
