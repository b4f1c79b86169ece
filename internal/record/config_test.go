package record

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/ftrace"
)

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		is   error
		msg  string
	}{
		{"sub-buffers too small", Config{Session: "s", OutputDir: "/x", Channels: []Channel{{SubbufSize: 4096}}}, ErrBufferTooSmall, "at least 8192"},
		{"too few sub-buffers", Config{Session: "s", OutputDir: "/x", Channels: []Channel{{SubbufCount: 1}}}, ErrBufferTooSmall, "at least 2"},
		{"no session name", Config{OutputDir: "/x"}, nil, "empty session name"},
		{"no output", Config{Session: "s"}, nil, "no output directory"},
		{"same channel twice", Config{Session: "s", OutputDir: "/x", Channels: []Channel{{Name: "a"}, {Name: "a"}}}, nil, "declared twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestSelectEvents(t *testing.T) {
	avail := []ftraceName{{"sched", "sched_switch"}, {"irq", "softirq_entry"}, {"kmem", "kmalloc"},
		{"syscalls", "sys_enter_openat"}, {"syscalls", "sys_exit_openat"}}
	sels, err := selectEvents(toNames(avail), []string{"sched_switch", "irq_softirq_*", "kmem:*"}, []string{"openat"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sels {
		got = append(got, s.name)
	}
	want := "sched_switch irq_softirq_entry kmalloc syscall_entry_openat syscall_exit_openat"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := selectEvents(toNames(avail), []string{"nosuch_event"}, nil, true); err == nil || !strings.Contains(err.Error(), "nosuch_event") {
		t.Errorf("unknown event: %v", err)
	}
}

type ftraceName struct{ sys, name string }

func toNames(in []ftraceName) []ftrace.EventName {
	var out []ftrace.EventName
	for _, n := range in {
		out = append(out, ftrace.EventName{System: n.sys, Name: n.name})
	}
	return out
}
