package events

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracetop/tracetop/ctf/writer"
	"github.com/tracetop/tracetop/internal/bpf"
	"github.com/tracetop/tracetop/internal/testenv"
)

// realFields reads the event classes of a real lttng-modules trace as
// "name:type" lists, keeping the scalar and string fields only.
func realFields(t *testing.T) map[string][]string {
	bt := testenv.Program(t, "babeltrace2")
	dir := filepath.Join(testenv.SharedDir(t, "traces"), "tracevizlab", "simple-kernel", "trace")
	out, err := exec.Command(bt, "-o", "ctf-metadata", dir).Output()
	if err != nil {
		t.Fatalf("babeltrace2 -o ctf-metadata: %v", err)
	}
	evRe := regexp.MustCompile(`(?s)event \{\n\tname = "([^"]+)";.*?fields := struct \{\n(.*?)\t\};\n\};`)
	intRe := regexp.MustCompile(`^integer \{ size = (\d+); align = \d+; signed = (\d); encoding = \w+; base = (\d+); \} _(\w+);$`)
	strRe := regexp.MustCompile(`^string(?: \{[^}]*\})? _(\w+);$`)
	m := map[string][]string{}
	for _, ev := range evRe.FindAllStringSubmatch(string(out), -1) {
		var fs []string
		for _, line := range strings.Split(ev[2], "\n") {
			line = strings.TrimSpace(line)
			if g := intRe.FindStringSubmatch(line); g != nil {
				k := "u"
				if g[2] == "1" {
					k = "s"
				} else if g[3] == "16" {
					k = "x"
				}
				fs = append(fs, g[4]+":"+k+g[1])
			} else if g := strRe.FindStringSubmatch(line); g != nil {
				fs = append(fs, g[1]+":str")
			}
		}
		m[ev[1]] = fs
	}
	return m
}

func fieldList(c *Class) []string {
	var out []string
	for _, f := range c.Fields {
		switch {
		case f.Kind == writer.String:
			out = append(out, f.Name+":str")
		case f.Kind == writer.Int:
			k := "u"
			if f.Signed {
				k = "s"
			} else if f.Base == 16 {
				k = "x"
			}
			out = append(out, f.Name+":"+k+strconv.Itoa(int(f.Bits)))
		}
	}
	return out
}

// Every class known to the real trace has its fields, names, types and
// order (a real trace may hold more: the composite fields we leave out).
func TestClassesMatchRealLTTngTrace(t *testing.T) {
	real := realFields(t)
	checked := 0
	for _, s := range All() {
		for _, c := range []*Class{&s.Entry, &s.Exit} {
			want, ok := real[c.Name]
			if !ok {
				continue
			}
			checked++
			got := fieldList(c)
			i := 0
			for _, w := range want {
				if i < len(got) && got[i] == w {
					i++
				}
			}
			if i != len(got) {
				t.Errorf("%s: fields %v are not in order in the real %v", c.Name, got, want)
			}
		}
	}
	for _, c := range []*Class{&EntryUnknown, &ExitUnknown, &Fork} {
		if _, ok := real[c.Name]; !ok {
			t.Errorf("%s missing from the real trace", c.Name)
		}
	}
	if checked < 500 {
		t.Errorf("only %d classes compared with the real trace", checked)
	}
}

func TestOpenatLayout(t *testing.T) {
	s := Lookup(257)
	if s == nil || s.Name != "openat" || s.Strings != 1<<1 {
		t.Fatalf("openat = %+v", s)
	}
	r := bpf.Record{Kind: bpf.KindSysEntry, Syscall: 257, Args: [6]uint64{uint64(0xffffff9c), 0x1234, 0x241, 0o644}, NStr: 1}
	r.Str[0] = []byte("/tmp/x")
	var p writer.Payload
	ClassOf(&r).Append(&p, &r)
	want := []byte{0x9c, 0xff, 0xff, 0xff, '/', 't', 'm', 'p', '/', 'x', 0, 0x41, 0x02, 0, 0, 0xa4, 0x01}
	if string(p.B) != string(want) {
		t.Errorf("payload % x, want % x", p.B, want)
	}
	if got := fieldList(&s.Entry); strings.Join(got, " ") != "dfd:s32 filename:str flags:s32 mode:u16" {
		t.Errorf("openat entry fields %v", got)
	}
	r = bpf.Record{Kind: bpf.KindSysExit, Syscall: 0, Ret: 10}
	if c := ClassOf(&r); c.Name != "syscall_exit_read" || strings.Join(fieldList(c), " ") != "ret:s64 buf:u64" {
		t.Errorf("read exit %s %v", c.Name, fieldList(c))
	}
	r = bpf.Record{Kind: bpf.KindSysExit, Syscall: 1000}
	if c := ClassOf(&r); c != &ExitUnknown {
		t.Errorf("syscall 1000 exit is %s", c.Name)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	r := bpf.Record{Kind: bpf.KindSysEntry, Syscall: 82, NStr: 2}
	r.Str[0], r.Str[1] = []byte("/old/name"), []byte("/new/name")
	p := writer.Payload{B: make([]byte, 0, 256)}
	c := ClassOf(&r)
	if n := testing.AllocsPerRun(100, func() { p.Reset(); c.Append(&p, &r) }); n != 0 {
		t.Errorf("%v allocations per Append", n)
	}
}
