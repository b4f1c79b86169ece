package tsdl

import (
	"errors"
	"fmt"
)

// ErrSyntax is matched (errors.Is) by every *Error: the metadata text is
// not valid TSDL, or says something impossible.
var ErrSyntax = errors.New("invalid TSDL metadata")

// Error is a metadata error with the line it was found on (1-based; 0
// when the error is not tied to a line).
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("tsdl: line %d: %s", e.Line, e.Msg)
	}
	return "tsdl: " + e.Msg
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *Error) Is(t error) bool { return t == ErrSyntax }

func errorf(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// PacketError is an error in the framing of packetized metadata, with the
// byte offset of the packet.
type PacketError struct {
	Off int64
	Msg string
}

func (e *PacketError) Error() string {
	return fmt.Sprintf("tsdl: metadata packet at byte %#x: %s", e.Off, e.Msg)
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *PacketError) Is(t error) bool { return t == ErrSyntax }
