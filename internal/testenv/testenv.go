package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Strict reports whether missing requirements fail tests instead of
// skipping them (TRACETOP_REQUIRE=all).
func Strict() bool {
	v := os.Getenv("TRACETOP_REQUIRE")
	return v == "all" || v == "1" || v == "true"
}

// Missing skips t, or fails it in strict mode, saying what is missing and
// how to get it.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Strict() {
		t.Fatalf("required for this test: %s (TRACETOP_REQUIRE=all)", what)
	}
	t.Skipf("skipped: needs %s", what)
}

// Program returns the path of a peer program found in PATH.
func Program(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "the program "+name+" (see .ci/run for the Debian packages)")
	}
	return p
}

// Root requires the test to run as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root")
	}
}

// Short skips a slow test under -short (never counted as missing).
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow test; skipped with -short")
	}
}

// RepoRoot returns the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns a folder of the shared material that sits beside the
// repository (../shared/NAME), or TRACETOP_SHARED/NAME when that is set.
func SharedDir(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("TRACETOP_SHARED")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared")
	}
	dir := filepath.Join(base, name)
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "the shared folder "+dir+" (set TRACETOP_SHARED)")
	}
	return dir
}

// Env returns the environment with TZ=UTC and LC_ALL=C, as the reference
// dumps were made, for running peers.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TZ=") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TZ=UTC", "LC_ALL=C")
}
