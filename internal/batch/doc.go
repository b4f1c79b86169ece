// Package batch prints the top's figures for consecutive intervals of a
// trace folder or of a relay's live session (net://HOST[:PORT]/host/H/S),
// as text in the manner of `top -b` or as one JSON object per interval:
// the header (CPUs, threads born and dead, fds open, opened and closed,
// bytes, lost events), then the CPUtop, PerfTop and IOtop tables. Textdump
// prints the system calls of a selection as strace does.
//
//	err := batch.Run(os.Stdout, batch.Options{
//		Sources:  []string{"trace/"},
//		Interval: time.Second,
//	})
package batch
