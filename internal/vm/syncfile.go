package vm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracetop/tracetop/internal/clocksync"
)

// SyncFileName is the per-guest sync stream file, beside the guest's
// kernel/ trace folder.
const SyncFileName = "sync.json"

// SyncFile is the sync stream of one guest (docs/format/vm-channel.md):
// what identifies the VM, and every clock-sync sample, so the transform
// can be refitted offline. Segments are the fits made while recording,
// for reading by people; readers refit from Samples.
type SyncFile struct {
	Version    int                `json:"version"`
	Name       string             `json:"name"`     // folder name under guests/
	Hostname   string             `json:"hostname"` // the guest's own
	QEMUPID    int                `json:"qemu_pid,omitempty"`
	QEMUName   string             `json:"qemu_name,omitempty"`
	VCPUs      []VCPU             `json:"vcpus,omitempty"`
	Hello      Hello              `json:"hello"`
	Tier       string             `json:"tier"`        // "C": message exchange
	HostClock  string             `json:"host_clock"`  // "mono"
	GuestClock string             `json:"guest_clock"` // "mono"
	Samples    []clocksync.Sample `json:"samples"`
	Segments   []clocksync.Fit    `json:"segments"`
	Failures   int                `json:"failures"`
	Outliers   int                `json:"outliers"`
	Stats      Stats              `json:"stats"`    // the guest's own account
	Received   Received           `json:"received"` // what the host got
}

// Received counts what the host side received from a guest.
type Received struct {
	Metadata    uint64 `json:"metadata_bytes"`
	Packets     uint64 `json:"packets"`
	Bytes       uint64 `json:"bytes"`
	Discarded   uint64 `json:"events_discarded"` // sum of the packets' last events_discarded per stream
	SeqGaps     uint64 `json:"seq_gaps"`         // packets missing by packet_seq_num
	FirstPingNS int64  `json:"first_ping_ns"`
}

// Transform refits the clock transform from the samples.
func (f *SyncFile) Transform() (*clocksync.Sync, error) {
	return clocksync.Replay(f.Samples)
}

// ReadSyncFile reads DIR/sync.json.
func ReadSyncFile(dir string) (*SyncFile, error) {
	p := filepath.Join(dir, SyncFileName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var f SyncFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, want 1", p, f.Version)
	}
	return &f, nil
}

// WriteSyncFile writes DIR/sync.json atomically (a viewer may read it
// while the recording goes on).
func WriteSyncFile(dir string, f *SyncFile) error {
	f.Version = 1
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+SyncFileName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o660); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, SyncFileName))
}
