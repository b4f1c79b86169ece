package session

import (
	"errors"
	"reflect"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	req := &Request{Cmd: CmdEnableEvent, Session: "s1", Event: &EventArgs{Channel: "c", Syscall: true, Names: []string{"openat", "read*"}}}
	b, err := EncodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("got %+v, want %+v", got, req)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	good, _ := EncodeRequest(&Request{Cmd: CmdList})
	frame := func(body string) []byte { return appendFrame(nil, kindRequest, []byte(body)) }
	tests := []struct {
		name string
		b    []byte
		off  int64
	}{
		{"short header", good[:5], 5},
		{"bad magic", append([]byte{1, 2, 3, 4}, good[4:]...), 0},
		{"other version", append(append(append([]byte{}, good[:4]...), 0, 9), good[6:]...), 4},
		{"response frame", appendFrame(nil, kindResponse, []byte(`{}`)), 6},
		{"length beyond the data", good[:len(good)-1], 8},
		{"unknown field", frame(`{"cmd":"list","bogus":1}`), 12},
		{"unknown command", frame(`{"cmd":"format-disk"}`), 12},
		{"trailing data", frame(`{"cmd":"list"}{}`), 26},
		{"not json", frame(`cmd=list`), 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.b)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
			if fe.Off < tc.off {
				t.Errorf("offset %d, want at least %d (%v)", fe.Off, tc.off, err)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []*Request{
		{Cmd: CmdCreate, Session: "a", Create: &CreateArgs{OutputDir: "/tmp/x", Live: true, LiveTimerU: 100}},
		{Cmd: CmdEnableChannel, Channel: &ChannelArgs{Name: "c", SubbufSize: 4096, NumSubbuf: 2}},
		{Cmd: CmdAddContext, Context: &ContextArgs{Types: []string{"vtid"}}},
	} {
		b, _ := EncodeRequest(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeRequest(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FormatError", err)
			}
			return
		}
		again, err := EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := DecodeRequest(again)
		if err != nil || !reflect.DeepEqual(req, req2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, req, req2)
		}
	})
}
