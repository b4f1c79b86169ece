package bpf

import (
	"encoding/binary"
	"errors"
	"testing"
)

func sysRecord(kind Kind, strs ...string) []byte {
	b := make([]byte, sysSize)
	binary.LittleEndian.PutUint64(b[0:], 12345)
	binary.LittleEndian.PutUint16(b[8:], uint16(kind))
	binary.LittleEndian.PutUint32(b[12:], 1)
	binary.LittleEndian.PutUint32(b[16:], 42)
	binary.LittleEndian.PutUint32(b[20:], 41)
	binary.LittleEndian.PutUint64(b[24:], 257)
	for i, s := range strs {
		binary.LittleEndian.PutUint16(b[88+2*i:], uint16(len(s)+1))
		b = append(append(b, s...), 0)
	}
	binary.LittleEndian.PutUint16(b[10:], uint16(len(b)))
	return b
}

func TestDecode(t *testing.T) {
	var r Record
	if err := r.Decode(sysRecord(KindSysEntry, "/a", "/bc")); err != nil {
		t.Fatal(err)
	}
	if r.Time != 12345 || r.CPU != 1 || r.TID != 42 || r.PID != 41 || r.Syscall != 257 || r.NStr != 2 ||
		string(r.Str[0]) != "/a" || string(r.Str[1]) != "/bc" {
		t.Errorf("decoded %+v", r)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty sample", nil},
		{"size beyond the sample", sysRecord(KindSysEntry, "/a")[:sysSize]},
		{"unknown kind", sysRecord(9)},
		{"short fork", func() []byte { b := sysRecord(KindFork); return b }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fe *FormatError
			if err := r.Decode(tc.b); !errors.As(err, &fe) {
				t.Errorf("Decode = %v, want a FormatError", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sysRecord(KindSysEntry, "/tmp/file"))
	f.Add(sysRecord(KindSysExit))
	fork := make([]byte, forkSize)
	binary.LittleEndian.PutUint16(fork[8:], uint16(KindFork))
	binary.LittleEndian.PutUint16(fork[10:], forkSize)
	f.Add(fork)
	sw := make([]byte, switchSize)
	binary.LittleEndian.PutUint16(sw[8:], uint16(KindSwitch))
	binary.LittleEndian.PutUint16(sw[10:], switchSize)
	f.Add(sw)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := r.Decode(b); err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		for i := 0; i < r.NStr; i++ {
			if len(r.Str[i]) > StrMax {
				t.Fatalf("string %d of %d bytes", i, len(r.Str[i]))
			}
		}
	})
}
