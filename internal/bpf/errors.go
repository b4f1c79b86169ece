package bpf

import (
	"errors"
	"fmt"
)

// ErrNotSupported is matched (errors.Is) by every FeatureError.
var ErrNotSupported = errors.New("not supported")

// FeatureError says which kernel feature or privilege is missing and what
// to do about it.
type FeatureError struct {
	Name      string // "BPF ring buffer"
	MinKernel string // "5.8", or "" when no kernel version helps
	Hint      string // what to do
	Err       error  // the kernel's answer, when there was one
}

func (e *FeatureError) Error() string {
	s := e.Name + " not supported"
	if e.MinKernel != "" {
		s += " (requires >= " + e.MinKernel + ")"
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	if e.Err != nil {
		s += fmt.Sprintf(" [%v]", e.Err)
	}
	return s
}

// Is makes errors.Is(err, ErrNotSupported) true.
func (e *FeatureError) Is(t error) bool { return t == ErrNotSupported }

func (e *FeatureError) Unwrap() error { return e.Err }

// FormatError is a record from the ring buffer that does not decode.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("bpf record: %s at byte 0x%x", e.Msg, e.Off)
}
