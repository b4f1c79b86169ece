package live

import (
	"context"
	"fmt"
	"time"

	"github.com/tracetop/tracetop/internal/relay/proto"
)

// Listed is one tracing session of a relay listing: the relay sessions
// with the same hostname and name (one per consumer) taken together.
type Listed struct {
	Hostname, Name string
	LiveTimer      uint32 // µs, 0 = not live
	Streams        uint32 // summed over the relay sessions
	Clients        uint32 // the largest over the relay sessions
	IDs            []proto.SessionID
}

// Group merges the records of one tracing session, in the order of their
// first record, as babeltrace2 does.
func Group(infos []proto.SessionInfo) []Listed {
	var out []Listed
	at := map[[2]string]int{}
	for _, si := range infos {
		k := [2]string{si.Hostname, si.SessionName}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Listed{Hostname: si.Hostname, Name: si.SessionName, LiveTimer: si.LiveTimer})
		}
		l := &out[i]
		l.Streams += si.Streams
		l.Clients = max(l.Clients, si.Clients)
		l.IDs = append(l.IDs, si.ID)
	}
	return out
}

// List returns the sessions of the relay named by a URL net://HOST[:PORT].
func List(ctx context.Context, rawURL string, timeout time.Duration) (URL, []Listed, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return u, nil, err
	}
	c, err := Dial(ctx, u.Addr(), timeout)
	if err != nil {
		return u, nil, err
	}
	defer c.Close()
	infos, err := c.ListSessions()
	if err != nil {
		return u, nil, err
	}
	return u, Group(infos), nil
}

// Line formats a listed session as babeltrace2 prints it:
// net://HOST/host/HOSTNAME/NAME (timer = µs, N stream(s), N client(s) connected).
func (u URL) Line(l Listed) string {
	return fmt.Sprintf("%s/host/%s/%s (timer = %d, %d stream(s), %d client(s) connected)",
		u.base(), l.Hostname, l.Name, l.LiveTimer, l.Streams, l.Clients)
}
