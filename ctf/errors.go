package ctf

import (
	"errors"
	"fmt"
)

// ErrFormat is matched (errors.Is) by every *FormatError.
var ErrFormat = errors.New("ctf: bad format")

// FormatError says a data stream or index file does not hold what its
// metadata promises: the file, the byte offset from the start of the file,
// and what was expected there.
type FormatError struct {
	File string // path of the stream or index file
	Off  int64  // byte offset in File
	Msg  string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("ctf: %s at byte %#x of %s", e.Msg, e.Off, e.File)
}

// Is makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Is(t error) bool { return t == ErrFormat }

// MetadataError says the metadata of a trace cannot be used: it does not
// parse, or it is inconsistent (a sequence length that is not an unsigned
// integer, a variant selector that is not an enumeration, a field path that
// names nothing ...).
type MetadataError struct {
	Path string // the metadata file
	Err  error
}

func (e *MetadataError) Error() string { return fmt.Sprintf("ctf: metadata %s: %v", e.Path, e.Err) }
func (e *MetadataError) Unwrap() error { return e.Err }

// errDecode is the sticky error of the decoder; it is turned into a
// *FormatError with the file and offset by the stream reader.
type decodeError struct {
	bit uint64 // bit offset in the packet
	msg string
	end bool // the field needs bits past the end of the packet content
}

func (e *decodeError) Error() string { return e.msg }
