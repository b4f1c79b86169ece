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
#define KIND_SWITCH 4

#define NR_SLOTS 1024        /* syscall numbers 0..1022; 1023 = unknown */
#define SLOT_UNKNOWN (NR_SLOTS - 1)
#define SYS_ENTRY 0x1u
#define SYS_EXIT 0x2u
#define STR_SHIFT 8          /* bits 8..13: arguments that are user strings */
#define STR_MAX 4096         /* PATH_MAX, as lttng records whole paths */
#define MAX_STRS 3
#define MAX_LEVELS 32        /* LTTNG_MAX_PID_NS_LEVEL */
#define MAX_PERF 4           /* perf counter contexts per session */
#define BPF_F_CURRENT_CPU 0xffffffffULL

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
	__u64 perf[MAX_PERF]; /* perf counter contexts at the event (perfconf) */
};

struct tt_switch {
	struct tt_hdr h;      /* tid/pid: the previous task */
	__s32 prev_tid;
	__s32 prev_prio;
	__s64 prev_state;
	__s32 next_tid;
	__s32 next_prio;
	char prev_comm[16];
	char next_comm[16];
	__u64 perf[MAX_PERF];      /* the previous task's values at switch-out */
	__u64 next_perf[MAX_PERF]; /* the next task's values at switch-in */
};

/* Perf counter contexts: slot i of nperf reads perf_counters<i> at the
 * current CPU; bit i of thread_mask makes it a per-thread value
 * (accumulated over the thread's time on CPUs between switches). */
struct perf_conf {
	__u32 nperf;
	__u32 thread_mask;
	__u32 emit_switch; /* write a KIND_SWITCH record per context switch */
	__u32 pad;
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
/* The sched_switch tracepoint passes prev_state, the state read before the
 * switch (kernel 5.18 and later): set by the loader from the kernel's BTF.
 * Without it, the programs read prev->__state, which a concurrent wake-up
 * may already have changed. */
volatile const __u32 switch_state_arg = 0;

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct perf_conf);
} perfconf SEC(".maps");

/* One perf event array per counter slot, indexed by CPU (the kernel
 * sizes them to the possible CPUs). */
#define PERF_ARRAY(n) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); \
		__type(key, __u32); \
		__type(value, __u32); \
	} perf_counters##n SEC(".maps")
PERF_ARRAY(0);
PERF_ARRAY(1);
PERF_ARRAY(2);
PERF_ARRAY(3);

/* Per thread: counter totals while on a CPU, and each counter's value at
 * the thread's last switch-in. */
struct thread_perf {
	__u64 acc[MAX_PERF];
	__u64 start[MAX_PERF];
	__u32 on; /* start is valid: the thread is on a CPU since a switch we saw */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct thread_perf);
} thread_perf SEC(".maps");

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

/* perf_conf is the configuration when counters are read or context
 * switches recorded, 0 otherwise. */
static __always_inline struct perf_conf *perf_conf(void)
{
	__u32 zero = 0;
	struct perf_conf *c = bpf_map_lookup_elem(&perfconf, &zero);
	return (c && (c->nperf || c->emit_switch)) ? c : 0;
}

/* read_cpu_counters reads the current CPU's counters into v. */
static __always_inline void read_cpu_counters(struct perf_conf *c, __u64 *v)
{
	struct bpf_perf_event_value pv;
	for (int i = 0; i < MAX_PERF; i++)
		v[i] = 0;
#define READ_SLOT(n) \
	if (c->nperf > n) { \
		__builtin_memset(&pv, 0, sizeof(pv)); \
		if (!bpf_perf_event_read_value(&perf_counters##n, BPF_F_CURRENT_CPU, &pv, sizeof(pv))) \
			v[n] = pv.counter; \
	}
	READ_SLOT(0)
	READ_SLOT(1)
	READ_SLOT(2)
	READ_SLOT(3)
#undef READ_SLOT
}

/* context_values turns the CPU counters v into the context values of
 * thread tid: per-thread slots add what the thread counted since its
 * switch-in to its totals. */
static __always_inline void context_values(struct perf_conf *c, __u32 tid, const __u64 *v, __u64 *out)
{
	struct thread_perf *tp = c->thread_mask ? bpf_map_lookup_elem(&thread_perf, &tid) : 0;
	for (int i = 0; i < MAX_PERF; i++) {
		out[i] = v[i];
		if (!(c->thread_mask & (1u << i)))
			continue;
		out[i] = 0;
		if (tp) {
			out[i] = tp->acc[i];
			if (tp->on && v[i] >= tp->start[i])
				out[i] += v[i] - tp->start[i];
		}
	}
}

static __always_inline void fill_perf(__u64 *perf, __u64 pid_tgid)
{
	struct perf_conf *c = perf_conf();
	if (!c) {
		for (int i = 0; i < MAX_PERF; i++)
			perf[i] = 0;
		return;
	}
	__u64 v[MAX_PERF];
	read_cpu_counters(c, v);
	context_values(c, (__u32)pid_tgid, v, perf);
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
		fill_perf(r->perf, pid_tgid);
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
	fill_perf(r->perf, pid_tgid);
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
	fill_perf(r->perf, pid_tgid);
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

/* switch_state is prev_state as tracefs's sched_switch writes it
 * (__trace_sched_switch_state): TASK_REPORT_MAX (0x100) for a preempted
 * task, else the highest TASK_REPORT bit of its state and exit state, with
 * TASK_IDLE (0x402) reported as TASK_REPORT_IDLE (0x80) and
 * TASK_RTLOCK_WAIT (0x1000) as TASK_UNINTERRUPTIBLE (0x2). st is the
 * state before the switch. */
static __always_inline __s64 switch_state(bool preempt, unsigned int st, struct task_struct *p)
{
	if (preempt)
		return 0x100;
	unsigned int s = (st | (unsigned int)BPF_CORE_READ(p, exit_state)) & 0x7f;
	if (st == 0x402)
		s = 0x80;
	else if (st == 0x1000)
		s = 0x2;
	__s64 top = 0;
	for (int i = 0; i < 8; i++)
		if (s & (1u << i))
			top = 1u << i;
	return top;
}

/* Context switches: per-thread counter totals, and the switch itself with
 * both tasks' counter values when the session records sched_switch here. */
SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct perf_conf *c = perf_conf();
	if (!c)
		return 0;
	__u64 v[MAX_PERF];
	read_cpu_counters(c, v);
	__u32 ptid = BPF_CORE_READ(prev, pid), ntid = BPF_CORE_READ(next, pid);
	if (c->thread_mask) {
		struct thread_perf *tp = bpf_map_lookup_elem(&thread_perf, &ptid);
		if (tp) {
			for (int i = 0; i < MAX_PERF; i++)
				if (tp->on && v[i] >= tp->start[i])
					tp->acc[i] += v[i] - tp->start[i];
			tp->on = 0;
		}
	}
	__u64 pv[MAX_PERF];
	context_values(c, ptid, v, pv);
	if (c->thread_mask) {
		struct thread_perf *tn = bpf_map_lookup_elem(&thread_perf, &ntid);
		if (!tn) {
			struct thread_perf z = {};
			bpf_map_update_elem(&thread_perf, &ntid, &z, BPF_NOEXIST);
			tn = bpf_map_lookup_elem(&thread_perf, &ntid);
		}
		if (tn) {
			for (int i = 0; i < MAX_PERF; i++)
				tn->start[i] = v[i];
			tn->on = 1;
		}
	}
	if (!c->emit_switch)
		return 0;
	struct tt_switch *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count_lost();
		return 0;
	}
	__u64 pid_tgid = ((__u64)BPF_CORE_READ(prev, tgid) << 32) | ptid;
	fill_hdr(&r->h, KIND_SWITCH, sizeof(*r), pid_tgid);
	r->prev_tid = ptid;
	r->next_tid = ntid;
	r->prev_prio = BPF_CORE_READ(prev, prio);
	r->next_prio = BPF_CORE_READ(next, prio);
	unsigned int st = switch_state_arg ? (unsigned int)ctx[3] : BPF_CORE_READ(prev, __state);
	r->prev_state = switch_state(preempt, st, prev);
	BPF_CORE_READ_STR_INTO(&r->prev_comm, prev, comm);
	BPF_CORE_READ_STR_INTO(&r->next_comm, next, comm);
	for (int i = 0; i < MAX_PERF; i++)
		r->perf[i] = pv[i];
	context_values(c, ntid, v, r->next_perf);
	bpf_ringbuf_submit(r, wakeup_flag());
	return 0;
}
