/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tracetop's kernel side: system calls with their arguments and user-space
 * strings, and the pid-namespace ids of new tasks, delivered through one BPF
 * ring buffer. Raw tracepoints (not tp_btf, which needs BPF trampolines
 * some kernels lack): every kernel pointer is read with BPF_CORE_READ. The
 * record layouts are described in docs/format/bpf-records.md
 * and decoded by record.go; keep the three in step.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define KIND_SYS_ENTRY 1
#define KIND_SYS_EXIT 2
#define KIND_FORK 3

#define NR_SLOTS 1024        /* syscall numbers 0..1022; 1023 = unknown */
#define SLOT_UNKNOWN (NR_SLOTS - 1)
#define SYS_ENTRY 0x1u
#define SYS_EXIT 0x2u
#define STR_SHIFT 8          /* bits 8..13: arguments that are user strings */
#define STR_MAX 4096         /* PATH_MAX, as lttng records whole paths */
#define MAX_STRS 3
#define MAX_LEVELS 32        /* LTTNG_MAX_PID_NS_LEVEL */

struct tt_hdr {
	__u64 ts;
	__u16 kind;
	__u16 size;
	__u32 cpu;
	__s32 tid;
	__s32 pid;
};

struct tt_sys {
	struct tt_hdr h;
	__s64 id;
	__s64 ret;
	__u64 args[6];
	__u16 slen[MAX_STRS]; /* bytes with the NUL; 0: absent; 0xffff: fault */
	__u16 pad;
};

struct tt_fork {
	struct tt_hdr h;
	__s32 child_tid;
	__s32 child_pid;
	__u32 parent_ns_inum;
	__u32 child_ns_inum;
	__s32 vpid;
	__s32 vppid;
	__u32 nlevels;
	__u32 pad;
	char parent_comm[16];
	char child_comm[16];
	__s32 vtids[MAX_LEVELS];
};

struct scratch {
	struct tt_sys sys;
	char str[MAX_STRS * STR_MAX];
};

/* Set by the loader before the programs load. */
volatile const __u32 ignore_tgid = 0;
/* Wake the reader only once this many bytes wait (it also polls on a
 * timer): one wakeup per record would cost more than the record. */
volatile const __u64 wakeup_bytes = 1 << 20;

#define BPF_RB_NO_WAKEUP 1
#define BPF_RB_FORCE_WAKEUP 2
#define BPF_RB_AVAIL_DATA 0


struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} events SEC(".maps");

/* Per syscall number: SYS_ENTRY|SYS_EXIT|string mask<<STR_SHIFT. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} sysconf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Entries whose strings faulted, by thread, waiting for their exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tt_sys);
} pending SEC(".maps");

/* Records the ring buffer had no room for, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline __u32 conf_of(long id)
{
	__u32 slot = (id >= 0 && id < SLOT_UNKNOWN) ? (__u32)id : SLOT_UNKNOWN;
	__u32 *c = bpf_map_lookup_elem(&sysconf, &slot);
	return c ? *c : 0;
}

static __always_inline void fill_hdr(struct tt_hdr *h, __u16 kind, __u16 size, __u64 pid_tgid)
{
	h->ts = bpf_ktime_get_ns();
	h->kind = kind;
	h->size = size;
	h->cpu = bpf_get_smp_processor_id();
	h->tid = (__s32)pid_tgid;
	h->pid = (__s32)(pid_tgid >> 32);
}

static __always_inline void fill_args(__u64 *a, struct pt_regs *regs)
{
	a[0] = BPF_CORE_READ(regs, di);
	a[1] = BPF_CORE_READ(regs, si);
	a[2] = BPF_CORE_READ(regs, dx);
	a[3] = BPF_CORE_READ(regs, r10);
	a[4] = BPF_CORE_READ(regs, r8);
	a[5] = BPF_CORE_READ(regs, r9);
}

/* read_strings copies the string arguments of s->sys into s->str and
 * returns whether one of them faulted. */
static __always_inline bool read_strings(struct scratch *s, __u32 strs)
{
	struct tt_sys *r = &s->sys;
	__u32 off = 0;
	int n = 0;
	bool fault = false;
	for (int i = 0; i < 6; i++) {
		if (!(strs & (1u << i)))
			continue;
		if (n >= MAX_STRS || off > (MAX_STRS - 1) * STR_MAX)
			break;
		long got = bpf_probe_read_user_str(&s->str[off], STR_MAX, (const void *)r->args[i]);
		if (got <= 0) {
			r->slen[n] = 0xffff;
			fault = true;
		} else {
			r->slen[n] = (__u16)got;
			off += (__u32)got;
		}
		n++;
	}
	r->h.size = (__u16)(sizeof(struct tt_sys) + off);
	return fault;
}

static __always_inline void output_scratch(struct scratch *s)
{
	__u64 size = s->sys.h.size;
	if (size < sizeof(struct tt_sys) || size > sizeof(struct scratch))
		return;
	if (bpf_ringbuf_output(&events, s, size, wakeup_flag()))
		count_lost();
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (ignore_tgid && (__u32)(pid_tgid >> 32) == ignore_tgid)
		return 0;
	__u32 conf = conf_of(id);
	if (!(conf & SYS_ENTRY))
		return 0;
	__u32 strs = (conf >> STR_SHIFT) & 0x3f;

	if (!strs) {
		struct tt_sys *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		if (!r) {
			count_lost();
			return 0;
		}
		fill_hdr(&r->h, KIND_SYS_ENTRY, sizeof(*r), pid_tgid);
		r->id = id;
		r->ret = 0;
		fill_args(r->args, regs);
		r->slen[0] = r->slen[1] = r->slen[2] = 0;
		r->pad = 0;
		bpf_ringbuf_submit(r, wakeup_flag());
		return 0;
	}

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	struct tt_sys *r = &s->sys;
	fill_hdr(&r->h, KIND_SYS_ENTRY, 0, pid_tgid);
	r->id = id;
	r->ret = 0;
	fill_args(r->args, regs);
	r->slen[0] = r->slen[1] = r->slen[2] = 0;
	r->pad = 0;
	if (read_strings(s, strs) && (conf & SYS_EXIT)) {
		/* A string's page was not resident (a binary's .rodata right
		 * after exec): keep the entry until the exit, when the kernel
		 * has faulted it in, and read the strings again then. */
		__u32 tid = (__u32)pid_tgid;
		bpf_map_update_elem(&pending, &tid, r, BPF_ANY);
		return 0;
	}
	output_scratch(s);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (ignore_tgid && (__u32)(pid_tgid >> 32) == ignore_tgid)
		return 0;
	long id = (long)BPF_CORE_READ(regs, orig_ax);
	__u32 conf = conf_of(id);
	if (!(conf & SYS_EXIT))
		return 0;
	__u32 strs = (conf >> STR_SHIFT) & 0x3f;
	if (strs) {
		__u32 tid = (__u32)pid_tgid;
		struct tt_sys *e = bpf_map_lookup_elem(&pending, &tid);
		__u32 zero = 0;
		struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
		if (e && s) {
			s->sys = *e;
			bpf_map_delete_elem(&pending, &tid);
			s->sys.slen[0] = s->sys.slen[1] = s->sys.slen[2] = 0;
			if (s->sys.id == id) {
				read_strings(s, strs);
				output_scratch(s);
			}
		}
	}
	struct tt_sys *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count_lost();
		return 0;
	}
	fill_hdr(&r->h, KIND_SYS_EXIT, sizeof(*r), pid_tgid);
	r->id = id;
	r->ret = ret;
	fill_args(r->args, regs);
	r->slen[0] = r->slen[1] = r->slen[2] = 0;
	r->pad = 0;
	bpf_ringbuf_submit(r, wakeup_flag());
	return 0;
}

/* upid_of reads pid->numbers[level], a flexible array CO-RE cannot index. */
static __always_inline int upid_of(struct pid *p, unsigned int level, struct upid *out)
{
	const char *base = (const char *)__builtin_preserve_access_index(&p->numbers[0]);
	return bpf_probe_read_kernel(out, sizeof(*out), base + (__u64)level * sizeof(struct upid));
}

/* nr_in_level is the tgid of task t as seen at pid-namespace level lv, 0 if t is not visible there. */
static __always_inline __s32 tgid_at(struct task_struct *t, unsigned int lv)
{
	struct upid u = {};
	struct pid *p = BPF_CORE_READ(t, group_leader, thread_pid);
	if (!p || BPF_CORE_READ(p, level) < lv)
		return 0;
	if (upid_of(p, lv, &u))
		return 0;
	return u.nr;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct tt_fork *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count_lost();
		return 0;
	}
	__u64 pid_tgid = ((__u64)BPF_CORE_READ(parent, tgid) << 32) | (__u32)BPF_CORE_READ(parent, pid);
	fill_hdr(&r->h, KIND_FORK, sizeof(*r), pid_tgid);
	r->child_tid = BPF_CORE_READ(child, pid);
	r->child_pid = BPF_CORE_READ(child, tgid);
	BPF_CORE_READ_STR_INTO(&r->parent_comm, parent, comm);
	BPF_CORE_READ_STR_INTO(&r->child_comm, child, comm);
	r->parent_ns_inum = 0;
	r->child_ns_inum = 0;
	r->vpid = 0;
	r->vppid = 0;
	r->nlevels = 0;
	r->pad = 0;

	struct upid u = {};
	struct pid *pp = BPF_CORE_READ(parent, thread_pid);
	if (pp && !upid_of(pp, BPF_CORE_READ(pp, level), &u) && u.ns)
		r->parent_ns_inum = BPF_CORE_READ(u.ns, ns.inum);

	struct pid *cp = BPF_CORE_READ(child, thread_pid);
	unsigned int level = cp ? BPF_CORE_READ(cp, level) : 0;
	for (int i = 0; i < MAX_LEVELS; i++) {
		r->vtids[i] = 0;
		if (!cp || (unsigned int)i > level)
			continue;
		struct upid v = {};
		if (!upid_of(cp, i, &v)) {
			r->vtids[i] = v.nr;
			r->nlevels = i + 1;
			if ((unsigned int)i == level && v.ns)
				r->child_ns_inum = BPF_CORE_READ(v.ns, ns.inum);
		}
	}
	if (cp && level < MAX_LEVELS) {
		r->vpid = tgid_at(child, level);
		r->vppid = tgid_at(parent, level);
	}
	bpf_ringbuf_submit(r, wakeup_flag());
	return 0;
}
