package bpf

// The programs read the x86-64 system call registers (di, si, dx, r10, r8,
// r9, orig_ax), so they are built for the little-endian BPF target only.
// Needs clang and the libbpf headers (<bpf/bpf_helpers.h>); no vmlinux.h:
// c/kernel.h declares the few kernel types read, relocated by CO-RE.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -D__TARGET_ARCH_x86" -target bpfel tracetop c/tracetop.bpf.c
