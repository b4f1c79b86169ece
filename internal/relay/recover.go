package relay

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracetop/tracetop/ctf/index"
)

// Recover makes the trace folders under dir consistent after a crash of
// the relay (SIGKILL, power loss of the process): in every trace folder
// that keeps indexes, a data file is cut after the last packet its index
// lists (a packet being received when the relay died has no index entry),
// and an index file is cut after its last whole entry. Every packet whose
// index the relay acknowledged stays readable. It returns the number of
// files it cut.
func Recover(dir string) (int, error) {
	cut := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() || d.Name() != "index" {
			return nil
		}
		n, err := recoverTrace(filepath.Dir(p))
		cut += n
		if err != nil {
			return err
		}
		return filepath.SkipDir
	})
	return cut, err
}

func recoverTrace(tdir string) (int, error) {
	ents, err := os.ReadDir(tdir)
	if err != nil {
		return 0, err
	}
	cut := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "metadata" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data := filepath.Join(tdir, e.Name())
		ip := filepath.Join(tdir, "index", e.Name()+".idx")
		var end int64
		b, err := os.ReadFile(ip)
		switch {
		case os.IsNotExist(err):
			// No packet of this stream was complete.
		case err != nil:
			return cut, err
		default:
			h, entries, err := index.Decode(b, nil)
			if err != nil {
				// A header cut by the crash: no entry was written.
				if len(b) < index.HeaderSize {
					if err := os.Truncate(ip, 0); err != nil {
						return cut, err
					}
					entries = nil
				} else {
					return cut, fmt.Errorf("recover %s: %w", ip, err)
				}
			} else if whole := int64(index.HeaderSize + len(entries)*int(h.EntrySize)); whole != int64(len(b)) {
				if err := os.Truncate(ip, whole); err != nil {
					return cut, err
				}
				cut++
			}
			for _, x := range entries {
				end = max(end, int64(x.Offset+x.PacketSize/8))
			}
		}
		fi, err := os.Stat(data)
		if err != nil {
			return cut, err
		}
		if fi.Size() > end {
			if err := os.Truncate(data, end); err != nil {
				return cut, err
			}
			cut++
		}
	}
	return cut, nil
}
