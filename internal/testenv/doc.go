// Package testenv decides whether a test that needs something outside the
// Go toolchain (a peer program such as babeltrace2, root, tracefs, BPF, the
// shared trace collection) runs, skips, or fails.
//
// Locally a missing requirement skips the test with the reason. With
// TRACETOP_REQUIRE=all (as CI sets it) the same test fails instead, so a
// green CI run proves every peer and kernel test really ran.
//
//	func TestAgainstBabeltrace(t *testing.T) {
//		bt := testenv.Program(t, "babeltrace2")
//		traces := testenv.SharedDir(t, "traces")
//		...
//	}
package testenv
