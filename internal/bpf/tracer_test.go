package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tracetop/tracetop/internal/testenv"
)

// openTracer loads the programs or skips (fails in CI) saying what is missing.
func openTracer(t *testing.T, cfg Config) *Tracer {
	t.Helper()
	testenv.Root(t)
	tr, err := Open(cfg)
	if errors.Is(err, ErrNotSupported) {
		testenv.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestOpenatStringAndWriteReturn(t *testing.T) {
	tr := openTracer(t, Config{Fork: true})
	const openat, write = 257, 1
	if err := tr.SetSyscall(openat, SyscallConf{Entry: true, Exit: true, Strings: 1 << 1}); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetSyscall(write, SyscallConf{Entry: true, Exit: true}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "named-file")
	runtime.LockOSThread()
	tid := unix.Gettid()
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12345)
	if _, err := unix.Write(fd, buf); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	runtime.UnlockOSThread()
	tr.Stop()

	var r Record
	var sawPath, sawWrite bool
	// The programs wake the reader in batches; a short deadline returns
	// what the ring holds.
	for idle := 0; !(sawPath && sawWrite); {
		tr.SetDeadline(time.Now().Add(50 * time.Millisecond))
		err := tr.ReadInto(&r)
		if errors.Is(err, os.ErrDeadlineExceeded) && idle < 20 {
			idle++
			continue
		}
		if err != nil {
			t.Fatalf("after path=%v write=%v: %v", sawPath, sawWrite, err)
		}
		if int(r.TID) != tid || int(r.PID) != os.Getpid() {
			continue
		}
		switch {
		case r.Kind == KindSysEntry && r.Syscall == openat:
			if r.NStr != 1 || string(r.Str[0]) != path {
				t.Errorf("openat strings %d %q, want %q", r.NStr, r.Str[0], path)
			}
			sawPath = true
		case r.Kind == KindSysExit && r.Syscall == write:
			if r.Ret != 12345 {
				t.Errorf("write returned %d, want 12345", r.Ret)
			}
			sawWrite = true
		}
	}
}
