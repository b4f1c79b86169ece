package live

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the live port of a relay.
const DefaultPort = 5344

// URL is a live relay address as babeltrace2 writes it:
// net://HOST[:PORT] lists the sessions, net://HOST[:PORT]/host/HOSTNAME/SESSION
// names one (traced on HOSTNAME).
type URL struct {
	Host     string // relay host, as given
	Port     int    // DefaultPort when not given
	HasPort  bool
	Hostname string // traced host, "" for a listing
	Session  string // session name, "" for a listing
}

// IsURL says whether s is a live relay URL (net://, net4://, net6://).
func IsURL(s string) bool {
	for _, p := range []string{"net://", "net4://", "net6://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ParseURL parses a live relay URL.
func ParseURL(s string) (URL, error) {
	var u URL
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "net" && scheme != "net4" && scheme != "net6") {
		return u, fmt.Errorf("live URL %q: want net://HOST[:PORT][/host/HOSTNAME/SESSION]", s)
	}
	hostport, path, _ := strings.Cut(rest, "/")
	host := hostport
	if strings.HasPrefix(hostport, "[") {
		i := strings.IndexByte(hostport, ']')
		if i < 0 {
			return u, fmt.Errorf("live URL %q: bad IPv6 address", s)
		}
		host = hostport[1:i]
		if p := hostport[i+1:]; p != "" {
			if !strings.HasPrefix(p, ":") {
				return u, fmt.Errorf("live URL %q: bad port", s)
			}
			hostport, u.HasPort = p[1:], true
		} else {
			hostport = ""
		}
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		host, hostport, u.HasPort = h, p, true
	} else {
		hostport = ""
	}
	if host == "" {
		return u, fmt.Errorf("live URL %q: no host", s)
	}
	u.Host, u.Port = host, DefaultPort
	if u.HasPort {
		p, err := strconv.Atoi(hostport)
		if err != nil || p <= 0 || p > 65535 {
			return u, fmt.Errorf("live URL %q: bad port %q", s, hostport)
		}
		u.Port = p
	}
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		return u, nil
	}
	parts := strings.SplitN(path, "/", 3)
	if len(parts) != 3 || parts[0] != "host" || parts[1] == "" || parts[2] == "" || strings.Contains(parts[2], "/") {
		return u, fmt.Errorf("live URL %q: want net://HOST[:PORT]/host/HOSTNAME/SESSION", s)
	}
	u.Hostname, u.Session = parts[1], parts[2]
	return u, nil
}

// Addr returns host:port to dial.
func (u URL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// base is net://HOST[:PORT] as given.
func (u URL) base() string {
	h := u.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if u.HasPort {
		h += ":" + strconv.Itoa(u.Port)
	}
	return "net://" + h
}

// String returns the URL in its canonical form.
func (u URL) String() string {
	if u.Session == "" {
		return u.base()
	}
	return u.base() + "/host/" + u.Hostname + "/" + u.Session
}
