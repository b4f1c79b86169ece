package pcapreplay

import (
	"path/filepath"
	"testing"

	"github.com/tracetop/tracetop/internal/testenv"
)

// The decoded listings of the fixtures give each connection's byte counts.
func TestCaptureByteCounts(t *testing.T) {
	dir := testenv.SharedDir(t, "fixtures/lttng-proto")
	conns, err := ReadFile(filepath.Join(dir, "nonlive-ust-uid.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var ctl, data *Conn
	for _, c := range conns {
		switch c.ServerPort {
		case 5342:
			ctl = c
		case 5343:
			data = c
		}
	}
	if ctl == nil || data == nil {
		t.Fatalf("connections: %d, no control or data", len(conns))
	}
	if n, m := len(ctl.Client.Bytes()), len(ctl.Server.Bytes()); n != 6336 || m != 215 {
		t.Errorf("control: %d bytes c->s, %d s->c, want 6336, 215", n, m)
	}
	if n := len(data.Client.Bytes()); n != 29052 {
		t.Errorf("data: %d bytes, want 29052", n)
	}
}

func TestParseGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 24), append([]byte{0xd4, 0xc3, 0xb2, 0xa1}, make([]byte, 30)...)} {
		if _, err := Parse(b); err == nil && len(b) != 24+30+4-4 {
			t.Logf("parsed %d bytes without error", len(b))
		}
	}
}
