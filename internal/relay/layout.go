package relay

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// errUnsafe is matched by the errors of names refused by the sanitiser.
var errUnsafe = errors.New("unsafe name")

// checkName validates a session name or hostname: non-empty, not starting
// with '.', no '/'.
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s: %w", what, errUnsafe)
	case s[0] == '.':
		return fmt.Errorf("%s %q starts with '.': %w", what, s, errUnsafe)
	case strings.ContainsAny(s, "/\x00"):
		return fmt.Errorf("%s %q contains '/': %w", what, s, errUnsafe)
	}
	return nil
}

// cleanRelPath validates a relative path sent by a peer (base path, stream
// path): a leading '/' is removed, and '..' components, empty results and
// control characters are refused. The result uses '/' separators.
func cleanRelPath(what, p string, allowEmpty bool) (string, error) {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		if allowEmpty {
			return "", nil
		}
		return "", fmt.Errorf("empty %s: %w", what, errUnsafe)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("%s %q has a '..' component: %w", what, p, errUnsafe)
		}
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 }) {
		return "", fmt.Errorf("%s %q has control characters: %w", what, p, errUnsafe)
	}
	p = path.Clean(p)
	if p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("%s %q is not below the output folder: %w", what, p, errUnsafe)
	}
	return p, nil
}

// checkFileName validates a channel name used as a file name.
func checkFileName(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
		return fmt.Errorf("%s %q is not a file name: %w", what, s, errUnsafe)
	}
	return nil
}

// sessionDir computes the session directory relative to the output root
// (section 6.2 of the protocol document).
func sessionDir(host, name, base string, nameHasTime bool, created uint64, loc *time.Location) string {
	switch {
	case base != "":
		return host + "/" + base
	case nameHasTime:
		return host + "/" + name
	default:
		return host + "/" + name + "-" + time.Unix(int64(created), 0).In(loc).Format("20060102-150405")
	}
}

// chunkTime formats a chunk boundary as in archive names: YYYYmmddTHHMMSS±hhmm.
func chunkTime(ts uint64, loc *time.Location) string {
	return time.Unix(int64(ts), 0).In(loc).Format("20060102T150405-0700")
}
