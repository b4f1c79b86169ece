// Package vcpu recognises the threads of a virtual machine monitor that
// run its virtual CPUs, by their names alone: QEMU names them "CPU n/TCG"
// or "CPU n/KVM" (with -name …,debug-threads=on, libvirt's default), the
// comm the kernel reports in sched_switch, the statedump and
// /proc/PID/task/TID/comm. It has no dependency, so that both the VM
// tracing (package vm) and the figures (package analysis) use it.
//
//	if n, accel, ok := vcpu.Parse("CPU 1/KVM"); ok {
//		fmt.Println(n, accel) // 1 KVM
//	}
package vcpu
