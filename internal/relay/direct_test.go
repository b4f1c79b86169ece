package relay

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracetop/tracetop/internal/relay/client"
	"github.com/tracetop/tracetop/internal/relay/proto"
)

// TestDataFileWrites: a data file receiving packets of every kind (small,
// large and aligned: O_DIRECT in a session that is not live, several
// chunks, unaligned, large at an unaligned offset) holds exactly the
// packets and their zero padding, in a session live or not.
func TestDataFileWrites(t *testing.T) {
	packets := []struct{ content, pad int }{
		{5000, 3192},       // small: page cache
		{200000, 62144},    // 256 KiB
		{10, 4086},         // one page
		{9<<20 - 100, 100}, // three chunks
		{1 << 20, 0},       // no padding
		{1000, 1},          // unaligned end
		{256 << 10, 0},     // large but at an unaligned offset
		{3000, 1 << 20},    // mostly padding
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, live := range []uint32{0, 100000} {
		tr := startRelay(t, t.TempDir())
		c, err := client.Dial(context.Background(), tr.ctl, tr.data)
		if err != nil {
			t.Fatal(err)
		}
		cs := proto.CreateSession{SessionName: "w", Hostname: "h", SessiondUUID: [16]byte{9}, CreationTime: 1, LiveTimer: live}
		_, sdir, err := c.CreateSession(cs)
		if err != nil {
			t.Fatal(err)
		}
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(c.CreateTraceChunk(0, 1, ""))
		id, err := c.AddStream("chan_0", "ust/uid/0/64-bit", 0)
		must(err)
		must(c.StreamsSent())
		var want []byte
		var sent int64
		for i, p := range packets {
			b := make([]byte, p.content)
			for j := range b {
				b[j] = byte(rnd.Uint32())
			}
			must(c.SendPacket(id, proto.SeqNum(i), b, uint32(p.pad)))
			want = append(append(want, b...), make([]byte, p.pad)...)
			sent += proto.DataHeaderSize + int64(p.content)
		}
		// Every packet is written before the session ends.
		for i := 0; atomic.LoadInt64(&tr.dataBytes) < sent; i++ {
			if i == 10000 {
				t.Fatalf("the relay took %d of the %d bytes sent", atomic.LoadInt64(&tr.dataBytes), sent)
			}
			time.Sleep(time.Millisecond)
		}
		c.Close()
		tr.stop(t)
		got, _ := os.ReadFile(filepath.Join(tr.dir, sdir, "ust/uid/0/64-bit/chan_0"))
		if !bytes.Equal(got, want) {
			t.Errorf("live timer %d: data file of %d bytes differs from the %d bytes sent", live, len(got), len(want))
		}
	}
}
