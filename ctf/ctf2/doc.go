// Package ctf2 parses CTF 2 metadata (a JSON text sequence, RFC 7464,
// plain or packetized) into the same ctf/meta trace class model as the
// TSDL parser, so the decoder and the printer do not care which syntax a
// trace uses.
//
// Final CTF 2.0 fragments are read (preamble, field-class-alias,
// trace-class, clock-class, data-stream-class, event-record-class), and
// so is the pre-release draft some traces use (separate
// fixed-length-*-enumeration types, bare-array field locations, clock
// uuid arrays, default-clock-class-name). Integer classes with mappings
// become meta.KindEnum, LEB128 integers meta.KindVarInt; roles become
// meta.Class.Role (and timestamp roles set MapClock to the stream's
// default clock); field locations become meta.FieldRef.
//
//	b, err := os.ReadFile(filepath.Join(dir, "metadata"))
//	if err != nil { ... }
//	if ctf2.IsCTF2(b) {
//		tr, err := ctf2.Parse(b)
//		...
//	}
package ctf2
