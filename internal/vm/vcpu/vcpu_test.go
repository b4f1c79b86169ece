package vcpu

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		comm  string
		index int
		accel string
		ok    bool
	}{
		{"CPU 0/TCG", 0, "TCG", true},
		{"CPU 12/KVM", 12, "KVM", true},
		{"CPU /KVM", 0, "", false},
		{"CPU 1/KVMX", 0, "", false},
		{"CPU 1/kvm", 0, "", false},
		{"CPU -1/KVM", 0, "", false},
		{"CPU 1 /KVM", 0, "", false},
		{"CPU 99999999999/KVM", 0, "", false},
		{"qemu-system-x86", 0, "", false},
		{"CPU 1/TCG ", 0, "", false},
	} {
		n, a, ok := Parse(tc.comm)
		if n != tc.index || a != tc.accel || ok != tc.ok {
			t.Errorf("Parse(%q) = %d %q %v, want %d %q %v", tc.comm, n, a, ok, tc.index, tc.accel, tc.ok)
		}
	}
}
