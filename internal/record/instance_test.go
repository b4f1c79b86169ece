package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/ftrace"
	"github.com/tracetop/tracetop/internal/testenv"
)

// ownInstances lists the tracefs instances of this process.
func ownInstances(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("/sys/kernel/tracing", "instances"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	prefix := fmt.Sprintf("%s-%d-", ftrace.InstancePrefix, os.Getpid())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// A New that fails once its tracefs instance exists removes it, so the
// same session can be created again.
func TestFailedNewRemovesInstance(t *testing.T) {
	testenv.Root(t)
	if _, err := ftrace.Open(""); err != nil {
		t.Fatal(err)
	}
	before := ownInstances(t)
	// 1 GiB sub-buffers x 1024 per CPU: the kernel refuses the buffer size,
	// after the instance was created.
	_, err := New(Config{Session: "test-failed-new", OutputDir: t.TempDir(),
		Channels: []Channel{{Events: []string{"sched_switch"}, SubbufSize: 1 << 30, SubbufCount: 1 << 10}}})
	if !errors.Is(err, ErrBufferRefused) {
		t.Fatalf("New with a 1 TiB buffer: %v, want ErrBufferRefused", err)
	}
	t.Logf("refused: %v", err)
	if got := ownInstances(t); len(got) != len(before) {
		t.Fatalf("instances left behind: %v (before: %v)", got, before)
	}
	// A second channel that fails leaves the first channel's instance too.
	_, err = New(Config{Session: "test-failed-new", OutputDir: t.TempDir(),
		Channels: []Channel{{Name: "good", Events: []string{"sched_switch"}},
			{Name: "bad", Events: []string{"sched_switch"}, SubbufSize: 1 << 30, SubbufCount: 1 << 10}}})
	if err == nil {
		t.Fatal("accepted")
	}
	if got := ownInstances(t); len(got) != len(before) {
		t.Fatalf("instances left behind: %v (before: %v)", got, before)
	}
	rec, err := New(Config{Session: "test-failed-new", OutputDir: t.TempDir(),
		Channels: []Channel{{Events: []string{"sched_switch"}}}, NoStatedump: true})
	if err != nil {
		t.Fatalf("New after a failed New: %v", err)
	}
	if got := ownInstances(t); len(got) != len(before)+1 {
		t.Errorf("instances %v, want one more than %v", got, before)
	}
	if err := rec.Destroy(); err != nil {
		t.Fatal(err)
	}
	if got := ownInstances(t); len(got) != len(before) {
		t.Errorf("instances left after Destroy: %v", got)
	}
}
