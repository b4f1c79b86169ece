package pretty

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestNumberFormats checks the in-place formatters against strconv.
func TestNumberFormats(t *testing.T) {
	vals := []uint64{0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 1e9 - 1, 1e9, 1e18, math.MaxInt64, math.MaxUint64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.UintN(64))
	}
	for _, v := range vals {
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendUint(%d) = %q", v, got)
		}
		if got, want := string(appendSigned(nil, int64(v))), strconv.FormatInt(int64(v), 10); got != want {
			t.Fatalf("appendSigned(%d) = %q", int64(v), got)
		}
		if got, want := string(appendHex(nil, v)), fmt.Sprintf("%X", v); got != want {
			t.Fatalf("appendHex(%d) = %q", v, got)
		}
		if got, want := string(appendNano([]byte("1."), v%1e9)), fmt.Sprintf("1.%09d", v%1e9); got != want {
			t.Fatalf("appendNano(%d) = %q", v%1e9, got)
		}
	}
}
